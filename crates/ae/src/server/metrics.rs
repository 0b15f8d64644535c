//! The server's counters in Prometheus' text format: requests and rows by endpoint and
//! status, a latency histogram per endpoint, batches, requests abandoned before their
//! pass, reloads.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets, seconds (Prometheus' defaults, from 1 ms).
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    rows: BTreeMap<String, u64>,
    latency: BTreeMap<String, Histogram>,
    batches: BTreeMap<String, (u64, u64)>,
    abandoned: BTreeMap<String, u64>,
    reloads: BTreeMap<&'static str, u64>,
}

/// Every counter, behind one lock (each update is a few additions).
#[derive(Default)]
pub struct Metrics(Mutex<Inner>);

impl Metrics {
    /// One answered request.
    pub fn request(&self, endpoint: &str, status: u16, rows: usize, took: Duration) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests.entry((endpoint.to_string(), status)).or_default() += 1;
        if (200..300).contains(&status) && rows > 0 {
            *m.rows.entry(endpoint.to_string()).or_default() += rows as u64;
        }
        let h = m.latency.entry(endpoint.to_string()).or_default();
        let s = took.as_secs_f64();
        for (c, &b) in h.counts.iter_mut().zip(&BUCKETS) {
            if s <= b {
                *c += 1;
            }
        }
        h.count += 1;
        h.sum += s;
    }

    /// One forward pass over `requests` requests.
    pub fn batch(&self, op: &str, requests: usize) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.batches.entry(op.to_string()).or_default();
        e.0 += 1;
        e.1 += requests as u64;
    }

    /// `requests` requests of `op` left out of their pass: they had stopped waiting.
    pub fn abandoned(&self, op: &str, requests: usize) {
        if requests == 0 {
            return;
        }
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.abandoned.entry(op.to_string()).or_default() += requests as u64;
    }

    /// A reload, `ok` or `error`.
    pub fn reload(&self, outcome: &'static str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.reloads.entry(outcome).or_default() += 1;
    }

    /// The text `GET /metrics` answers.
    pub fn render(&self, generation: u64) -> String {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = String::new();
        let _ = writeln!(s, "# HELP ae_requests_total Requests answered, by endpoint and HTTP status.");
        let _ = writeln!(s, "# TYPE ae_requests_total counter");
        for ((ep, st), n) in &m.requests {
            let _ = writeln!(s, "ae_requests_total{{endpoint=\"{ep}\",status=\"{st}\"}} {n}");
        }
        let _ = writeln!(s, "# HELP ae_request_errors_total Requests answered with a status of 400 or more.");
        let _ = writeln!(s, "# TYPE ae_request_errors_total counter");
        let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
        for ((ep, st), n) in &m.requests {
            if *st >= 400 {
                *errors.entry(ep).or_default() += n;
            }
        }
        for (ep, n) in errors {
            let _ = writeln!(s, "ae_request_errors_total{{endpoint=\"{ep}\"}} {n}");
        }
        let _ = writeln!(s, "# HELP ae_rows_total Rows scored, encoded or reconstructed.");
        let _ = writeln!(s, "# TYPE ae_rows_total counter");
        for (ep, n) in &m.rows {
            let _ = writeln!(s, "ae_rows_total{{endpoint=\"{ep}\"}} {n}");
        }
        let _ =
            writeln!(s, "# HELP ae_request_duration_seconds Time from a request's arrival to its answer.");
        let _ = writeln!(s, "# TYPE ae_request_duration_seconds histogram");
        for (ep, h) in &m.latency {
            for (c, b) in h.counts.iter().zip(&BUCKETS) {
                let _ = writeln!(s, "ae_request_duration_seconds_bucket{{endpoint=\"{ep}\",le=\"{b}\"}} {c}");
            }
            let _ = writeln!(
                s,
                "ae_request_duration_seconds_bucket{{endpoint=\"{ep}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(s, "ae_request_duration_seconds_sum{{endpoint=\"{ep}\"}} {}", h.sum);
            let _ = writeln!(s, "ae_request_duration_seconds_count{{endpoint=\"{ep}\"}} {}", h.count);
        }
        let _ = writeln!(
            s,
            "# HELP ae_batches_total Forward passes, each over the requests that arrived together."
        );
        let _ = writeln!(s, "# TYPE ae_batches_total counter");
        let _ = writeln!(s, "# HELP ae_batched_requests_total Requests those passes served.");
        let _ = writeln!(s, "# TYPE ae_batched_requests_total counter");
        for (op, (b, r)) in &m.batches {
            let _ = writeln!(s, "ae_batches_total{{op=\"{op}\"}} {b}");
            let _ = writeln!(s, "ae_batched_requests_total{{op=\"{op}\"}} {r}");
        }
        let _ = writeln!(
            s,
            "# HELP ae_abandoned_requests_total Requests not computed: they had stopped waiting (--timeout passed, or the client left) before their pass."
        );
        let _ = writeln!(s, "# TYPE ae_abandoned_requests_total counter");
        for (op, n) in &m.abandoned {
            let _ = writeln!(s, "ae_abandoned_requests_total{{op=\"{op}\"}} {n}");
        }
        let _ = writeln!(s, "# HELP ae_model_reloads_total Model reloads (SIGHUP or --watch), by outcome.");
        let _ = writeln!(s, "# TYPE ae_model_reloads_total counter");
        for (o, n) in &m.reloads {
            let _ = writeln!(s, "ae_model_reloads_total{{outcome=\"{o}\"}} {n}");
        }
        let _ = writeln!(
            s,
            "# HELP ae_model_generation The loaded model's generation (1 at start, +1 a reload)."
        );
        let _ = writeln!(s, "# TYPE ae_model_generation gauge");
        let _ = writeln!(s, "ae_model_generation {generation}");
        s
    }
}
