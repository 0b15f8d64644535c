//! `ae`: train, evaluate and use autoencoders from the command line.

mod args;
// The argument structs' doc comments are clap's help text, where `[:MIN]` means "optional",
// not a link.
#[allow(rustdoc::broken_intra_doc_links)]
mod commands;
#[cfg(feature = "plots")]
mod detector_plot;
mod files;
mod flags;
mod grid;
mod mpi_job;
#[cfg(not(feature = "plots"))]
mod no_plots;
mod output;
mod pictures;
#[cfg(feature = "plots")]
mod plot;
mod png;
mod progress;
#[cfg(feature = "plots")]
mod rd_plot;
mod report;
mod rows;
#[cfg(feature = "plots")]
mod scatter;
#[cfg(feature = "serve")]
mod server;
mod signals;
mod training;

#[cfg(not(feature = "plots"))]
use no_plots::{detector_plot, plot, rd_plot, scatter};

use std::io::Write;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Train autoencoders on your data and use them: encode, decode, reconstruct, evaluate.
#[derive(Parser)]
#[command(name = "ae", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a dataset or files and save it (.safetensors) with its loss curve.
    Train(Box<commands::train::TrainArgs>),
    /// Reconstruction error of a model on data, beside PCA with the same code size.
    Evaluate(commands::evaluate::EvaluateArgs),
    /// Map rows to their codes (CSV or NPY out).
    Encode(commands::encode::EncodeArgs),
    /// Map codes back to rows (CSV or NPY out).
    Decode(commands::decode::DecodeArgs),
    /// Reconstruct rows (CSV or NPY out), or draw originals above reconstructions (PNG).
    Reconstruct(commands::reconstruct::ReconstructArgs),
    /// Remove noise: the model's reconstructions (with --add-noise, PSNR before and after).
    Denoise(commands::denoise::DenoiseArgs),
    /// Decode codes drawn from the prior (VAE) or from the training codes: a PNG grid, or CSV/NPY.
    Generate(commands::generate::GenerateArgs),
    /// Decodings along the latent path between two inputs: a PNG strip, or CSV/NPY.
    Interpolate(commands::generate::InterpolateArgs),
    /// Decodings as each code dimension is swept while the others stay fixed: a PNG grid.
    Traverse(commands::generate::TraverseArgs),
    /// Compress rows or images to a small file: quantised, entropy-coded codes.
    Compress(commands::compress::CompressArgs),
    /// Decode a file written by `ae compress` back to images (PNG) or rows (CSV/NPY).
    Decompress(commands::compress::DecompressArgs),
    /// Anomaly score per row (reconstruction error); ROC-AUC and friends when labels are known.
    Score(commands::score::ScoreArgs),
    /// Outlier flags (0/1) per row from the threshold stored in the model.
    Detect(commands::score::ScoreArgs),
    /// A 2-D scatter of the codes of a dataset, coloured by label (PNG).
    PlotLatent(commands::plot_latent::PlotLatentArgs),
    /// Write a model as an ONNX graph (code, reconstruction and score) for ONNX Runtime.
    Export(commands::export::ExportArgs),
    /// Serve a model over HTTP: score, encode and reconstruct rows (JSON, CSV, NPY), with metrics.
    #[cfg(feature = "serve")]
    Serve(commands::serve::ServeArgs),
    /// Write the model card page (one HTML file): settings, training, errors, codes, the detector.
    Report(commands::report::ReportArgs),
    /// Show a model's architecture, parameters, normaliser and training summary.
    Inspect(commands::inspect::InspectArgs),
    /// Train on built-in images in seconds and write a model, a loss curve and a grid to ./ae-demo/.
    Demo(commands::demo::DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::CompletionsArgs),
    /// Print the manual page (roff), or write it with -o.
    Man(commands::completions::ManArgs),
}

fn main() {
    // Output piped into `head` and friends: end quietly when the reader goes away, as
    // Unix tools do, instead of failing (Rust ignores SIGPIPE by default, so `println!`
    // would panic on the broken pipe).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start-up, before any
    // thread exists, is what C programs start with.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // An empty variable means "not set", as for the library's own reading of them; clap
    // would otherwise say "a value is required for '--cache-dir'".
    for key in ["AE_DATA_DIR", "AE_CACHE_DIR", "AE_MIRROR"] {
        if std::env::var_os(key).is_some_and(|v| v.is_empty()) {
            // SAFETY (edition 2024 marks this unsafe): no other thread exists yet.
            std::env::remove_var(key);
        }
    }
    let matches = Cli::command().try_get_matches().unwrap_or_else(|e| refuse(e));
    let subcommand = matches.subcommand_name().unwrap_or_default().to_string();
    // `ae serve` handles its own signals: SIGTERM drains, SIGHUP reloads the model.
    if subcommand != "serve" {
        signals::install();
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| refuse(e));
    // A panic the library catches (the arrow crates' on a malformed file, which it
    // turns into an error naming the file) prints nothing; one that reaches here is a
    // bug, said in one line, then with RUST_BACKTRACE set the backtrace taken when it
    // happened.
    let backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        // Captured now, its symbols resolved only if it is printed.
        let trace = backtrace.then(std::backtrace::Backtrace::force_capture);
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some((info.to_string(), trace));
        }
    }));
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(result) => result,
        Err(_) => {
            let (what, trace) = LAST_PANIC.lock().ok().and_then(|mut l| l.take()).unwrap_or_default();
            if let Some(stream) =
                ["stdout", "stderr"].into_iter().find(|s| what.contains(&format!("failed printing to {s}")))
            {
                // Not a bug: the standard output or error could not be written (a full
                // disk, a closed terminal); `print!` panics on it. Said where it can be.
                let why = what.rsplit(": ").next().unwrap_or("");
                let _ = writeln!(std::io::stderr(), "error: <{stream}>: {}", one_line(why));
                std::process::exit(1);
            }
            eprintln!("error: internal error (a bug in ae; please report it): {}", one_line(&what));
            if let Some(t) = trace {
                eprintln!("{t}");
            }
            std::process::exit(101);
        }
    };
    if let Err(e) = result {
        // Not `eprintln!`, which panics when standard error cannot be written.
        let _ = writeln!(std::io::stderr(), "error: {}", one_line(&flags::error_line(&e, &subcommand)));
        std::process::exit(1);
    }
    if signals::stop_requested() {
        // Stopped by a signal after saving: say so to scripts.
        std::process::exit(signals::INTERRUPTED);
    }
}

/// The last panic's message (and backtrace, when asked for), kept by the panic hook
/// for the report of a panic that reaches `main`.
type PanicReport = (String, Option<std::backtrace::Backtrace>);
static LAST_PANIC: std::sync::Mutex<Option<PanicReport>> = std::sync::Mutex::new(None);

/// Run the subcommand.
fn run(cli: Cli) -> autoencoder::Result<()> {
    match cli.command {
        Command::Train(a) => commands::train::run(*a),
        Command::Evaluate(a) => commands::evaluate::run(a),
        Command::Encode(a) => commands::encode::run(a),
        Command::Decode(a) => commands::decode::run(a),
        Command::Reconstruct(a) => commands::reconstruct::run(a),
        Command::Denoise(a) => commands::denoise::run(a),
        Command::Generate(a) => commands::generate::run_generate(a),
        Command::Interpolate(a) => commands::generate::run_interpolate(a),
        Command::Traverse(a) => commands::generate::run_traverse(a),
        Command::Compress(a) => commands::compress::run_compress(a),
        Command::Decompress(a) => commands::compress::run_decompress(a),
        Command::Score(a) => commands::score::run_score(a),
        Command::Detect(a) => commands::score::run_detect(a),
        Command::PlotLatent(a) => commands::plot_latent::run(a),
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Export(a) => commands::export::run(a),
        Command::Report(a) => commands::report::run(a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => commands::serve::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Completions(a) => commands::completions::run_completions(a, Cli::command()),
        Command::Man(a) => commands::completions::run_man(a, Cli::command()),
    }
}

/// A command line clap refused. A flag's value that does not parse (the library's own
/// `FromStr` said why, or a number is out of range) is one escaped line naming the flag,
/// the value and the reason, with clap's exit code for a usage error (2); everything
/// else (help, version, unknown or missing arguments) is clap's own output.
fn refuse(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue) {
        e.exit()
    }
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join(", ")),
        _ => None,
    };
    let (Some(arg), Some(value)) = (text(ContextKind::InvalidArg), text(ContextKind::InvalidValue)) else {
        e.exit()
    };
    // The flag without clap's `<VALUE>` placeholder.
    let flag = arg.split_whitespace().next().unwrap_or(&arg).to_string();
    let why = match std::error::Error::source(&e) {
        Some(source) => match source.downcast_ref::<autoencoder::Error>() {
            // "invalid activation: …": the flag already names the setting.
            Some(autoencoder::Error::Config { message, .. }) => message.clone(),
            _ => source.to_string(),
        },
        None => match text(ContextKind::ValidValue) {
            Some(valid) if !valid.is_empty() => format!("expected {valid}"),
            _ if value.is_empty() => "expected a value, not an empty one".to_string(),
            _ => "not a valid value".to_string(),
        },
    };
    let code = e.exit_code();
    eprintln!("error: {}", one_line(&format!("invalid {flag} {value:?}: {why}")));
    std::process::exit(code)
}

/// The longest error printed, in characters; the rest is counted, not shown.
const MAX_MESSAGE: usize = 2000;

/// A message as one safe line: control characters from file names or file contents (a
/// newline, an escape sequence) are shown escaped, and an overlong message is cut.
fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE + 40));
    for (shown, c) in message.chars().enumerate() {
        if shown == MAX_MESSAGE {
            let rest = message.chars().count() - shown;
            out.push_str(&format!("… ({rest} more characters)"));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_are_one_escaped_bounded_line() {
        assert_eq!(super::one_line("a\nb\u{1b}[31mc\td"), "a\\nb\\u{1b}[31mc\\td");
        let long = "x".repeat(400_000);
        let shown = super::one_line(&long);
        assert!(shown.len() < 2100 && shown.ends_with("(398000 more characters)"), "{}", &shown[1990..]);
        assert_eq!(super::one_line("caf\u{e9} naïve"), "caf\u{e9} naïve");
    }
}
