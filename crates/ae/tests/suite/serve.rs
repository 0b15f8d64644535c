//! `ae serve` on 127.0.0.1: every endpoint and media type, answers equal to `ae score`,
//! `ae encode` and `ae reconstruct` bit for bit, hostile requests refused with a 4xx
//! while the server keeps answering, reloads under load that lose no request, and
//! SIGTERM letting a request in flight finish.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{ae, fails, ok};

/// A running `ae serve`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    log: std::sync::mpsc::Receiver<String>,
}

impl Server {
    fn start(model: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("ae"))
            .arg("serve")
            .arg(model)
            .args(["--port", "0", "--threads", "1"])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("ae serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // The address is the first line: tools read it there.
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("ae serve prints its address");
        let addr =
            line.split("http://").nth(1).unwrap_or_else(|| panic!("no address in {line:?}")).to_string();
        Server { child, addr, log: rx }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill").args([&format!("-{sig}"), &self.pid().to_string()]).status().unwrap();
        assert!(st.success());
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("ae serve never said {needle:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, content type, body.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

fn http(addr: &str, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (and close) before the whole body is sent: a refusal.
    let _ = s.write_all(body);
    read_answer(&mut s)
}

fn read_answer(s: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no answer: {raw:?}"));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + n]);
            rest = &rest[eol + 4 + n..];
        }
        body = out;
    }
    Answer { status, content_type: header("content-type").unwrap_or_default(), body }
}

/// A 200 × 5 table with a few planted outliers, and a tabular detector trained on it.
fn model(dir: &Path, seed: u64) -> (PathBuf, PathBuf, Vec<Vec<f64>>) {
    let mut rows = Vec::new();
    let mut state = 12345u64; // the same rows for every model seed
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    for i in 0..200 {
        let a = next();
        let b = next();
        let mut r = vec![a, b, a + b, a - b, 2.0 * a + next() * 0.1];
        if i % 40 == 0 {
            r[3] += 4.0;
        }
        rows.push(r);
    }
    let csv = dir.join("x.csv");
    let mut text = String::from("a,b,c,d,e\n");
    for r in &rows {
        text.push_str(&r.iter().map(|v| format!("{v}")).collect::<Vec<_>>().join(","));
        text.push('\n');
    }
    std::fs::write(&csv, text).unwrap();
    let m = dir.join(format!("m{seed}.safetensors"));
    ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--preset", "tabular", "--min-steps", "40", "--threshold", "contamination=0.05"])
        .args(["--seed", &seed.to_string(), "--threads", "1", "--quiet", "--no-plots", "-o"])
        .arg(&m));
    (m, csv, rows)
}

fn json_rows(rows: &[Vec<f64>]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "rows": rows })).unwrap()
}

/// `ae score`'s scores of a file, exactly as printed (CSV of f64).
fn ae_scores(model: &Path, data: &Path) -> Vec<f64> {
    let out = ok(ae().arg("score").arg(model).arg(data).args(["--threads", "1"]));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect()
}

fn npy_f32(bytes: &[u8]) -> Vec<f32> {
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + hl..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn npy_f64(bytes: &[u8]) -> Vec<f64> {
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + hl..].chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn bits64(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn bits32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn every_endpoint_and_media_type_answers_as_the_commands_do() {
    let dir = tempfile::tempdir().unwrap();
    let (m, csv, rows) = model(dir.path(), 1);
    let want = ae_scores(&m, &csv);
    let npy = dir.path().join("x.npy");
    let codes = dir.path().join("codes.npy");
    let recon = dir.path().join("recon.npy");
    ok(ae().args(["encode"]).arg(&m).arg(&csv).arg("-o").arg(&codes));
    ok(ae().args(["reconstruct"]).arg(&m).arg(&csv).arg("-o").arg(&recon));
    let want_codes = npy_f32(&std::fs::read(&codes).unwrap());
    let want_recon = npy_f32(&std::fs::read(&recon).unwrap());
    // The same rows as an f32 NPY body.
    // Parsed from the CSV file's text, as ae reads it (f64 → f32 would round twice).
    let flat: Vec<f32> = rows.iter().flatten().map(|v| format!("{v}").parse::<f32>().unwrap()).collect();
    let mut body = b"\x93NUMPY\x01\x00".to_vec();
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, 5), }}", rows.len());
    let pad = 64 - (10 + dict.len() + 1) % 64;
    body.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
    body.extend_from_slice(dict.as_bytes());
    body.extend(std::iter::repeat_n(b' ', pad));
    body.push(b'\n');
    body.extend(flat.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(&npy, &body).unwrap();

    let s = Server::start(&m, &[]);
    // Scores: JSON, CSV (the file ae scored) and NPY, each equal to ae score's bits.
    let a = http(&s.addr, "POST", "/v1/score", Some("application/json"), &json_rows(&rows));
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.content_type, "application/json");
    let j = a.json();
    let got: Vec<f64> = j["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(bits64(&got), bits64(&want));
    assert_eq!(j["score"], "root");
    assert_eq!(j["outliers"].as_array().unwrap().len(), rows.len());
    assert!(j["threshold"].as_f64().unwrap() > 0.0);
    let a = http(&s.addr, "POST", "/v1/score", Some("text/csv"), &std::fs::read(&csv).unwrap());
    assert_eq!((a.status, a.content_type.as_str()), (200, "text/csv"));
    let text = String::from_utf8(a.body).unwrap();
    assert!(text.starts_with("score,outlier\n"));
    let got: Vec<f64> = text.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(bits64(&got), bits64(&want));
    // The same file as a spreadsheet exports it (semicolons, decimal commas), read as
    // its Content-Type's parameters say: the same scores.
    let euro = std::fs::read_to_string(&csv).unwrap().replace(',', ";").replace('.', ",");
    let ct = "text/csv; decimal=comma";
    let a = http(&s.addr, "POST", "/v1/score", Some(ct), euro.as_bytes());
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let text = String::from_utf8(a.body).unwrap();
    let got: Vec<f64> = text.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(bits64(&got), bits64(&want));
    let a = http(&s.addr, "POST", "/v1/score", Some("application/x-npy"), &body);
    assert_eq!((a.status, a.content_type.as_str()), (200, "application/x-npy"));
    // The NPY body holds the rows as f32, as the CSV file is read: the same scores.
    assert_eq!(bits64(&npy_f64(&a.body)), bits64(&want));
    // Codes and reconstructions, bit for bit.
    let a = http(&s.addr, "POST", "/v1/encode", Some("application/x-npy"), &body);
    assert_eq!(bits32(&npy_f32(&a.body)), bits32(&want_codes));
    let a = http(&s.addr, "POST", "/v1/encode", Some("application/json"), &json_rows(&rows));
    let got: Vec<f32> = a.json()["codes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().clone())
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(bits32(&got), bits32(&want_codes));
    let a = http(&s.addr, "POST", "/v1/reconstruct", Some("text/csv"), &std::fs::read(&csv).unwrap());
    let got: Vec<f32> = String::from_utf8(a.body)
        .unwrap()
        .lines()
        .skip(1)
        .flat_map(|l| l.split(',').map(|v| v.parse::<f32>().unwrap()).collect::<Vec<_>>())
        .collect();
    assert_eq!(bits32(&got), bits32(&want_recon));
    // A row so far out that its reconstruction overflows scores NaN (null in JSON), and
    // is flagged.
    let huge = vec![vec![3e38; 5], rows[1].clone()];
    let j = http(&s.addr, "POST", "/v1/score", None, &json_rows(&huge)).json();
    assert!(j["scores"][0].is_null(), "{j}");
    assert_eq!(j["scores"][1].as_f64().unwrap().to_bits(), want[1].to_bits());
    assert_eq!(j["outliers"][0], 1);
    // One row alone scores as it does among the others.
    let a = http(&s.addr, "POST", "/v1/score", None, &json_rows(&rows[7..8]));
    assert_eq!(a.json()["scores"][0].as_f64().unwrap().to_bits(), want[7].to_bits());
    // Concurrent requests (batched together when they arrive together) answer the same.
    let addr = s.addr.clone();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (addr, part) = (addr.clone(), rows[t * 20..t * 20 + 20].to_vec());
            std::thread::spawn(move || {
                http(&addr, "POST", "/v1/score", Some("application/json"), &json_rows(&part)).json()
            })
        })
        .collect();
    for (t, h) in handles.into_iter().enumerate() {
        let got: Vec<f64> =
            h.join().unwrap()["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(bits64(&got), bits64(&want[t * 20..t * 20 + 20]), "request {t}");
    }
    // The descriptions.
    let card = http(&s.addr, "GET", "/v1/model", None, b"").json();
    assert_eq!((card["input_dim"].as_u64(), card["code_dim"].as_u64()), (Some(5), Some(3)));
    assert_eq!(card["detector"]["score"], "root");
    assert_eq!(card["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(http(&s.addr, "GET", "/health", None, b"").json()["status"], "ok");
    let doc = http(&s.addr, "GET", "/openapi.json", None, b"").json();
    assert_eq!(doc["openapi"], "3.1.0");
    for p in ["/v1/score", "/v1/encode", "/v1/reconstruct", "/v1/model", "/health", "/metrics"] {
        assert!(doc["paths"][p].is_object(), "{p} is not documented");
    }
    let metrics = String::from_utf8(http(&s.addr, "GET", "/metrics", None, b"").body).unwrap();
    assert!(metrics.contains("ae_requests_total{endpoint=\"/v1/score\",status=\"200\"} 14"), "{metrics}");
    assert!(
        metrics.contains(&format!("ae_rows_total{{endpoint=\"/v1/score\"}} {}", 4 * 200 + 2 + 1 + 160)),
        "{metrics}"
    );
    assert!(metrics.contains("ae_request_duration_seconds_count{endpoint=\"/v1/score\"} 14"), "{metrics}");
}

/// A response takes at most twice the bytes a body may, counted at the most a value
/// takes in its media (25 bytes in JSON): narrow rows through a wide code would make
/// one, and the memory of the requests in flight, far larger than the bodies. Refused
/// with 413 and the rows that fit; the narrow outputs of the same rows are answered.
/// The requests at once fit the memory budget less the model's copies and passes: by
/// default fewer than 64 where 64 do not (a note says so), and more than fit, asked for,
/// are refused at start, as is a model that would take the whole budget.
#[test]
fn a_response_larger_than_a_body_may_be_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = wide_model(dir.path());
    // A pass of at most 399 rows on one thread: a batch of 399 rows of two 4,096-wide
    // layers' rows, and a slice of 399 rows of two: 26,148,864 bytes; three, 74.8 MiB.
    // With three copies of the file (its histogram of 4,096 × 1,024 counts, 16 MiB and
    // a little), 123.3 MiB; 184 MiB less those leave room for 10 requests of 6 MiB.
    let file = std::fs::metadata(&m).unwrap().len();
    assert_eq!(file >> 20, 16, "{file} bytes");
    let small_passes = ["--batch-rows", "200", "--max-rows", "200"];
    let s =
        Server::start(&m, &[&small_passes[..], &["--max-body-mb", "1", "--memory-budget", "184M"]].concat());
    // After the address (the first line), the note.
    let note = s.wait_for("computing at most 10 requests at once");
    assert!(note.contains("budget of 184.0 MiB less 123.3 MiB for the model and its passes"), "{note}");
    // 200 rows of 2 values: 819,200 code values, up to 20,480,000 bytes of JSON, more
    // than the 2 MiB a response may take with 1 MiB bodies; 20 rows fit.
    let rows: Vec<String> = (0..200).map(|i| format!("[{}, {}]", i % 3, i % 4)).collect();
    let body = format!("{{\"rows\": [{}]}}", rows.join(","));
    let json = Some("application/json");
    let a = http(&s.addr, "POST", "/v1/encode", json, body.as_bytes());
    assert_eq!(a.status, 413, "{}", String::from_utf8_lossy(&a.body));
    let e = a.json()["error"].as_str().unwrap().to_string();
    assert!(
        e.contains("200 rows of 4096 values, up to 20480000 bytes") && e.contains("send at most 20 rows"),
        "{e}"
    );
    for path in ["/v1/score", "/v1/reconstruct"] {
        assert_eq!(http(&s.addr, "POST", path, json, body.as_bytes()).status, 200, "{path}");
    }
    let fits = format!("{{\"rows\": [{}]}}", rows[..20].join(","));
    let a = http(&s.addr, "POST", "/v1/encode", json, fits.as_bytes());
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["codes"].as_array().unwrap().len(), 20);
    drop(s);
    // Passes of up to 108,191 rows: 4·(1,024 · 8,192 + 2 · 8,192 · 4,096) bytes, 288 MiB
    // each, 864 MiB for three, 912.5 MiB with the file's copies; 18 requests of 384 MiB
    // fit in 8 GiB less those.
    fails(
        ae().arg("serve").arg(&m).args([
            "--port",
            "0",
            "--threads",
            "1",
            "--max-body-mb",
            "64",
            "--max-concurrency",
            "64",
            "--memory-budget",
            "8G",
        ]),
        &[
            "max_concurrency",
            "64 requests with bodies of up to 64 MiB",
            "less 912.5 MiB for the model and its passes",
            "at most 18 fit",
        ],
    );
    fails(
        ae().arg("serve").arg(&m).args(["--port", "0", "--threads", "1", "--memory-budget", "800M"]),
        &[
            "memory_budget",
            "3 passes",
            "912.5 MiB at once",
            "3 copies of its file",
            "give a larger --memory-budget",
        ],
    );
    fails(
        ae().arg("serve")
            .arg(&m)
            .args(["--port", "0", "--threads", "1", "--memory-budget", "400M"])
            .args(small_passes),
        &["max_body_mb", "less 123.3 MiB for the model and its passes", "lower --max-body-mb"],
    );
}

/// A model of rows of 2 values through a 4096-wide code.
fn wide_model(dir: &Path) -> PathBuf {
    let csv = dir.join("narrow.csv");
    let text: String = (0..64).map(|i| format!("{},{}\n", i % 7, i % 5)).collect();
    std::fs::write(&csv, text).unwrap();
    let m = dir.join("wide.safetensors");
    ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--layers", "4096", "--epochs", "1", "-q", "--no-plots", "-o"])
        .arg(&m));
    m
}

/// A response is written under its request's place in `--max-concurrency`: a client that
/// stops reading keeps it (others get 503), not the server's memory beside the limit,
/// and after `--timeout` seconds in which it read nothing its connection is closed and
/// the place is free again.
#[test]
fn a_client_that_stops_reading_holds_its_place_until_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let m = wide_model(dir.path());
    let s = Server::start(&m, &["--max-concurrency", "1", "--timeout", "3"]);
    // 500 codes of 4096 values: about 40 MB of JSON, more than the sockets hold.
    let rows: Vec<String> = (0..500).map(|i| format!("[{}, {}]", i % 3, i % 4)).collect();
    let body = format!("{{\"rows\": [{}]}}", rows.join(","));
    let mut stalled = TcpStream::connect(&s.addr).unwrap();
    let head = format!(
        "POST /v1/encode HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stalled.write_all(head.as_bytes()).unwrap();
    stalled.write_all(body.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let one = br#"{"rows": [[1, 2]]}"#;
    let json = Some("application/json");
    let busy = http(&s.addr, "POST", "/v1/score", json, one);
    assert_eq!(busy.status, 503, "{}", String::from_utf8_lossy(&busy.body));
    let since = Instant::now();
    let freed = loop {
        let a = http(&s.addr, "POST", "/v1/score", json, one);
        if a.status == 200 {
            break since.elapsed();
        }
        assert_eq!(a.status, 503);
        assert!(since.elapsed() < Duration::from_secs(30), "the stalled client kept its place");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(freed > Duration::from_secs(1), "freed after {freed:?}, before the timeout");
    // The stalled client gets what was sent before its connection was closed: less than
    // the whole response.
    stalled.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut got = Vec::new();
    let _ = stalled.read_to_end(&mut got);
    let split = got.windows(4).position(|w| w == b"\r\n\r\n").expect("the response's head");
    let head = String::from_utf8_lossy(&got[..split]).to_ascii_lowercase();
    let length: usize =
        head.split("content-length: ").nth(1).and_then(|v| v.lines().next()?.parse().ok()).unwrap();
    assert!(head.starts_with("http/1.1 200") && length > 20_000_000, "{head}");
    assert!(got.len() - split - 4 < length, "the whole response arrived");
}

/// A request that stopped waiting before its pass began is not computed: its
/// `--timeout` passed (it was answered 408), or its client closed the connection. The
/// batcher is held here by `--batch-wait` (10 s) while another request's body is still
/// coming.
#[test]
fn a_request_that_stopped_waiting_before_its_pass_is_not_computed() {
    let dir = tempfile::tempdir().unwrap();
    let m = wide_model(dir.path());
    let one = br#"{"rows": [[1, 2]]}"#;
    let json = Some("application/json");
    let abandoned = "ae_abandoned_requests_total{op=\"encode\"}";
    let passes = "ae_batches_total{op=\"encode\"}";
    for timeout in ["1", "60"] {
        let s = Server::start(&m, &["--timeout", timeout, "--batch-wait-ms", "10000"]);
        let metric = |name: &str| {
            let text = String::from_utf8(http(&s.addr, "GET", "/metrics", None, b"").body).unwrap();
            text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
        };
        // A body that never ends, being read while the next request's rows are queued.
        let mut slow = TcpStream::connect(&s.addr).unwrap();
        let head = "POST /v1/encode HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
        slow.write_all(head.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        if timeout == "1" {
            // Timed out while the batcher waited.
            let since = Instant::now();
            let late = http(&s.addr, "POST", "/v1/encode", json, one);
            assert_eq!(late.status, 408, "{}", String::from_utf8_lossy(&late.body));
            assert!(since.elapsed() < Duration::from_secs(8), "answered after {:?}", since.elapsed());
        } else {
            // Its client gone while the batcher waited (long before its timeout).
            let mut gone = TcpStream::connect(&s.addr).unwrap();
            let head = format!(
                "POST /v1/encode HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                one.len()
            );
            gone.write_all(head.as_bytes()).unwrap();
            gone.write_all(one).unwrap();
            std::thread::sleep(Duration::from_millis(300));
        }
        let since = Instant::now();
        while metric(abandoned) != Some(1) {
            assert!(since.elapsed() < Duration::from_secs(30), "timeout {timeout}: no request abandoned");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(metric(passes), None, "timeout {timeout}: a pass ran");
        drop(slow);
        // A request that waits is computed.
        let a = http(&s.addr, "POST", "/v1/encode", json, one);
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!((metric(passes), metric(abandoned)), (Some(1), Some(1)));
    }
}

#[test]
fn hostile_requests_get_a_4xx_and_the_server_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let (m, _, rows) = model(dir.path(), 2);
    let s = Server::start(&m, &["--header-timeout", "1", "--max-rows", "1000", "--max-body-mb", "8"]);
    let refused = |a: Answer, status: u16, needle: &str| {
        assert_eq!(a.status, status, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.content_type, "application/json");
        let e = a.json()["error"].as_str().unwrap().to_string();
        assert!(e.contains(needle), "{e:?} lacks {needle:?}");
        assert_eq!(http(&s.addr, "GET", "/health", None, b"").status, 200);
    };
    let json = Some("application/json");
    refused(http(&s.addr, "POST", "/v1/score", json, b"{\"rows\": [[1,2,"), 400, "malformed JSON");
    refused(
        http(&s.addr, "POST", "/v1/score", json, b"{\"rows\": [[1,2,3]]}"),
        400,
        "row 0 has 3 values; the model takes 5",
    );
    refused(http(&s.addr, "POST", "/v1/score", json, b"{\"rows\": [[1,2,3,4,NaN]]}"), 400, "malformed JSON");
    refused(
        http(&s.addr, "POST", "/v1/score", json, b"{\"rows\": [[1,2,3,4,null]]}"),
        400,
        "column 4 is null",
    );
    refused(http(&s.addr, "POST", "/v1/score", json, b"{\"rows\": []}"), 400, "no rows");
    // A query parameter asks for something no endpoint does (it was ignored: `?kind=elbo`
    // answered with the model's own score).
    let five = b"{\"rows\": [[1,2,3,4,5]]}";
    refused(
        http(&s.addr, "POST", "/v1/score?kind=elbo", json, five),
        400,
        "/v1/score takes no query parameters, got \"?kind=elbo\"",
    );
    refused(http(&s.addr, "POST", "/v1/encode?x", json, five), 400, "got \"?x\"");
    assert_eq!(http(&s.addr, "POST", "/v1/reconstruct?", json, five).status, 200);
    refused(http(&s.addr, "POST", "/v1/score", Some("text/csv"), b"a,b,c,d,e\n1,2,3,4,nan\n"), 400, "column");
    refused(http(&s.addr, "POST", "/v1/score", Some("text/csv"), b"a,b,c,d,e\n1,2,3,4,x\n"), 400, "\"x\"");
    // Decimal commas sent without saying so, and a bad parameter.
    let euro = b"a;b;c;d;e\n1,5;2;3;4;5\n";
    refused(
        http(&s.addr, "POST", "/v1/score", Some("text/csv"), euro),
        400,
        "Content-Type text/csv; decimal=comma reads it",
    );
    refused(
        http(&s.addr, "POST", "/v1/score", Some("text/csv; decimal=dot"), euro),
        400,
        "Content-Type parameter decimal",
    );
    refused(http(&s.addr, "POST", "/v1/encode", Some("application/x-npy"), b"PAR1 not numpy"), 400, "NPY");
    refused(http(&s.addr, "POST", "/v1/score", Some("image/png"), b"\x89PNG"), 415, "image/png");
    refused(http(&s.addr, "POST", "/v1/nowhere", json, b"{}"), 404, "/v1/nowhere");
    refused(http(&s.addr, "DELETE", "/v1/score", None, b""), 405, "DELETE");
    // 10⁶ rows: refused once the 1,001st row is read (the body itself is under the limit).
    let mut big = b"{\"rows\": [".to_vec();
    for i in 0..1_000_000 {
        big.extend_from_slice(if i == 0 { b"[0,0,0,0,0]" } else { b",[0,0,0,0,0]" });
    }
    big.extend_from_slice(b"]}");
    assert!(big.len() < 16 << 20);
    let s8 = Server::start(&m, &["--max-body-mb", "16", "--max-rows", "1000"]);
    let a = http(&s8.addr, "POST", "/v1/score", json, &big);
    assert_eq!(a.status, 413, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.json()["error"].as_str().unwrap().contains("at most 1000"));
    // 100 MB: refused from its Content-Length, before the body is read.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(c, "POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n").unwrap();
    refused(read_answer(&mut c), 413, "larger than 8388608 bytes");
    // The same without a length (chunked): refused once 8 MiB have arrived.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(c, "POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..12 {
        if c.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|_| c.write_all(&chunk))
            .and_then(|_| c.write_all(b"\r\n"))
            .is_err()
        {
            break;
        }
    }
    // A 413, unless the connection was reset before it could be read (the rest of the
    // body unread): either way the request is refused and the server answers others.
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    assert!(
        raw.is_empty() || raw.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&raw[..raw.len().min(200)])
    );
    assert_eq!(http(&s.addr, "GET", "/health", None, b"").status, 200);
    // A slow-loris client (headers never finished) is disconnected after --header-timeout,
    // and others are answered meanwhile.
    let mut slow = TcpStream::connect(&s.addr).unwrap();
    slow.write_all(b"POST /v1/score HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t = Instant::now();
    assert_eq!(http(&s.addr, "POST", "/v1/score", json, &json_rows(&rows[..3])).status, 200);
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = t.elapsed();
    assert!(waited < Duration::from_secs(8), "the slow client held its connection for {waited:?}");
    assert_eq!(http(&s.addr, "GET", "/health", None, b"").status, 200);
    // Every refusal is counted.
    let metrics = String::from_utf8(http(&s.addr, "GET", "/metrics", None, b"").body).unwrap();
    assert!(metrics.contains("ae_request_errors_total{endpoint=\"/v1/score\"}"), "{metrics}");
}

#[test]
fn reloads_under_load_lose_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let (m1, csv, rows) = model(dir.path(), 3);
    let (m2, _, _) = model(dir.path(), 4);
    let served = dir.path().join("served.safetensors");
    std::fs::copy(&m1, &served).unwrap();
    let (want1, want2) = (ae_scores(&m1, &csv), ae_scores(&m2, &csv));
    assert_ne!(bits64(&want1), bits64(&want2));
    let s = Server::start(&served, &["--watch"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop, body) = (s.addr.clone(), stop.clone(), json_rows(&rows));
            let (w1, w2) = (bits64(&want1), bits64(&want2));
            std::thread::spawn(move || {
                let (mut n, mut bad) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let a = http(&addr, "POST", "/v1/score", Some("application/json"), &body);
                    n += 1;
                    if a.status != 200 {
                        bad += 1;
                        continue;
                    }
                    let got: Vec<f64> =
                        a.json()["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                    // A whole model's scores, never a mix of two.
                    assert!(bits64(&got) == w1 || bits64(&got) == w2);
                }
                (n, bad)
            })
        })
        .collect();
    for round in 0..4 {
        std::thread::sleep(Duration::from_millis(300));
        let next = if round % 2 == 0 { &m2 } else { &m1 };
        if round < 2 {
            // SIGHUP after replacing the file the way ae writes files (a rename).
            let tmp = dir.path().join("next.tmp");
            std::fs::copy(next, &tmp).unwrap();
            std::fs::rename(&tmp, &served).unwrap();
            s.signal("HUP");
        } else {
            // --watch: the changed file alone.
            let tmp = dir.path().join("next.tmp");
            std::fs::copy(next, &tmp).unwrap();
            std::fs::rename(&tmp, &served).unwrap();
        }
        s.wait_for(&format!("generation {}", round + 2));
    }
    // A file that does not load leaves the model serving.
    std::fs::write(dir.path().join("bad.tmp"), b"not a model").unwrap();
    std::fs::rename(dir.path().join("bad.tmp"), &served).unwrap();
    s.signal("HUP");
    s.wait_for("the previous model keeps serving");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut total, mut bad) = (0, 0);
    for c in clients {
        let (n, b) = c.join().unwrap();
        total += n;
        bad += b;
    }
    assert!(total > 20, "only {total} requests were made");
    assert_eq!(bad, 0, "{bad} of {total} requests were not answered with 200");
    // The last good model (m1, after four swaps) is the one serving.
    let a = http(&s.addr, "POST", "/v1/score", Some("application/json"), &json_rows(&rows));
    let got: Vec<f64> = a.json()["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(bits64(&got), bits64(&want1));
    assert_eq!(http(&s.addr, "GET", "/health", None, b"").json()["generation"], 5);
}

/// A reload must fit what the memory budget leaves beside the requests: the model
/// serving, the next file and the model made from it, and their passes. A file whose
/// length alone passes it is refused unread (a warning says why, not that it is no
/// model file), a model whose passes would is refused once read, and the first keeps
/// serving.
#[test]
fn a_model_that_needs_more_memory_is_not_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let (m, csv, rows) = model(dir.path(), 3);
    let wide = wide_model(dir.path());
    let served = dir.path().join("served.safetensors");
    std::fs::copy(&m, &served).unwrap();
    // 16 requests of 6 MiB fit in 100 MiB less the small model's few: 4 MiB are left.
    let s = Server::start(&served, &["--max-body-mb", "1", "--memory-budget", "100M"]);
    let swap = |from: &dyn Fn(&Path)| {
        let tmp = dir.path().join("next.tmp");
        from(&tmp);
        std::fs::rename(&tmp, &served).unwrap();
        s.signal("HUP");
    };
    // 64 MiB of nothing (a sparse file): never read.
    swap(&|p| std::fs::File::create(p).unwrap().set_len(64 << 20).unwrap());
    let warning = s.wait_for("warning: reloading");
    assert!(
        warning.contains("while it is read and swapped in, the server would hold 12")
            && warning.contains("more than the 4.0 MiB the memory budget leaves beside the requests")
            && !warning.contains("not a valid safetensors file"),
        "{warning}"
    );
    swap(&|p| {
        std::fs::copy(&wide, p).unwrap();
    });
    let warning = s.wait_for("restart ae serve to serve it");
    assert!(
        warning.contains("the previous model keeps serving")
            && warning.contains("for the models and their passes"),
        "{warning}"
    );
    let a = http(&s.addr, "POST", "/v1/score", Some("application/json"), &json_rows(&rows));
    let got: Vec<f64> = a.json()["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(bits64(&got), bits64(&ae_scores(&m, &csv)));
    assert_eq!(http(&s.addr, "GET", "/health", None, b"").json()["generation"], 1);
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (m, _, rows) = model(dir.path(), 5);
    let mut s = Server::start(&m, &[]);
    // Half a request is sent, then SIGTERM, then the rest: it is still answered.
    let body = json_rows(&rows);
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        c,
        "POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    c.write_all(&body[..body.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.signal("TERM");
    s.wait_for("stopping");
    // No new connection is accepted.
    std::thread::sleep(Duration::from_millis(100));
    assert!(TcpStream::connect(&s.addr).is_err(), "a connection was accepted after SIGTERM");
    c.write_all(&body[body.len() / 2..]).unwrap();
    let a = read_answer(&mut c);
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["scores"].as_array().unwrap().len(), rows.len());
    s.wait_for("stopped");
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
