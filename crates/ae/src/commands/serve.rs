//! `ae serve`: a model behind HTTP (the `server` module), its limits set by flags.

use std::path::PathBuf;
use std::time::Duration;

use autoencoder::train::MemoryBudget;
use autoencoder::Result;
use clap::Args;

use crate::server::{self, Settings};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The model file.
    pub model: PathBuf,
    /// The address to listen on (0.0.0.0 for every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The largest request body, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_body_mb: u64,
    /// The most rows a request may hold.
    #[arg(long, default_value_t = 100_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_rows: u64,
    /// Seconds a request may take, reading its body included (408 after); a client that
    /// reads none of its response for that long is disconnected.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Seconds a client has to send a request's headers (a slow client is disconnected).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub header_timeout: f64,
    /// Requests computed at once; more are refused with 503. By default 64, or as many
    /// as fit --memory-budget, less the model's passes, at up to 6 times --max-body-mb
    /// each.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_concurrency: Option<u64>,
    /// The memory the requests computed at once and their passes may hold together
    /// (`512M`, `8G`; by default half the machine's memory): each request up to 6 times
    /// --max-body-mb (its body, its values, its results and their text), and each of the
    /// three operations' passes the model's buffers for --batch-rows + --max-rows rows
    /// on --threads (a model reloaded later may need no more).
    #[arg(long, value_name = "SIZE", value_parser = |v: &str| v.parse::<MemoryBudget>())]
    pub memory_budget: Option<MemoryBudget>,
    /// Connections open at once; more wait to be accepted.
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections: u64,
    /// Milliseconds a forward pass waits for more requests while others are being read
    /// (0: never wait).
    #[arg(long, default_value_t = 2.0, value_name = "MS")]
    pub batch_wait_ms: f64,
    /// The most rows one forward pass takes.
    #[arg(long, default_value_t = 8192, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_rows: u64,
    /// Reload the model when its file changes (SIGHUP always reloads it).
    #[arg(long)]
    pub watch: bool,
    /// Seconds SIGTERM waits for the requests in flight.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub drain: f64,
    #[command(flatten)]
    pub threads: crate::args::ThreadArgs,
}

fn seconds(flag: &str, v: f64) -> Result<Duration> {
    if !(0.0..=86_400.0).contains(&v) {
        return Err(autoencoder::Error::config(
            flag,
            format!("{v} is not a number of seconds from 0 to 86400"),
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

pub fn run(a: ServeArgs) -> Result<()> {
    let max_body = (a.max_body_mb as usize) << 20;
    let settings = Settings {
        model: a.model,
        host: a.host,
        port: a.port,
        max_body,
        max_rows: a.max_rows as usize,
        timeout: seconds("timeout", a.timeout)?,
        header_timeout: seconds("header-timeout", a.header_timeout)?,
        max_concurrency: a.max_concurrency.map(|n| n as usize),
        memory_budget: a.memory_budget.unwrap_or_else(|| MemoryBudget::of_machine(1)),
        max_connections: a.max_connections as usize,
        batch_wait: seconds("batch-wait-ms", a.batch_wait_ms / 1000.0)?,
        batch_rows: a.batch_rows as usize,
        threads: a.threads.threads,
        watch: a.watch,
        drain: seconds("drain", a.drain)?,
    };
    server::run(settings)
}
