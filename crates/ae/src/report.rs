//! The model card page: one self-contained HTML file (inline SVG, CSS and script; no
//! network needed to open it) showing what a model is and what it learned — its
//! architecture and settings, the training curves, per-feature reconstruction error
//! (tables) or originals above reconstructions (images), the codes' scatter, and for a
//! detector the score histogram with its threshold and, given labels, ROC and
//! precision–recall curves. `ae report` writes it; `ae serve` answers `GET /` with it,
//! plus a box to paste rows and see their scores and reconstructions.

use std::fmt::Write;

use autoencoder::anomaly::{self, ScoreKind};
use autoencoder::{Autoencoder, Dataset, Threads};
use base64::prelude::{Engine, BASE64_STANDARD};

/// What the page shows of a data file, computed by [`Evidence::of`].
pub struct Evidence {
    /// The data's name (its path).
    pub name: String,
    rows: usize,
    /// Mean squared error per feature, in the model's normalised units.
    feature_error: Vec<f64>,
    /// Feature names (the header's, else 0-based indices).
    feature_names: Vec<String>,
    /// Up to 8 rows and their reconstructions, for image models.
    images: Option<(Vec<f32>, Vec<f32>, usize)>,
    /// 2-D points of the codes (the first two principal components, or the codes) and
    /// their labels.
    scatter: Vec<(f32, f32, Option<i64>)>,
    /// The scores of the detector's kind, and the labels when 0/1.
    scores: Option<(ScoreKind, Vec<f64>, Option<Vec<i64>>)>,
}

/// At most this many rows are drawn in the scatter.
const SCATTER_ROWS: usize = 2000;

impl Evidence {
    /// Score, encode and reconstruct `data` with `model`.
    pub fn of(
        model: &Autoencoder,
        data: &Dataset,
        name: &str,
        threads: &Threads,
    ) -> autoencoder::Result<Evidence> {
        let d = model.input_dim();
        let rows = data.rows();
        let feature_error = anomaly::feature_errors(model, data, ScoreKind::Mse, &[], threads)?;
        let feature_names =
            data.feature_names.clone().unwrap_or_else(|| (0..d).map(|j| j.to_string()).collect());
        let images = model.config().image_shape.map(|_| {
            let n = rows.min(8);
            let x = data.values_of(0..n).into_owned();
            let raw = model.reconstruct(&x, threads).unwrap_or_default();
            (x, raw, n)
        });
        let shown = rows.min(SCATTER_ROWS);
        let codes = model.encode(&data.values_of(0..shown), threads)?;
        let k = model.code_dim();
        let points: Vec<(f32, f32)> = if k >= 2 {
            let first_two = || codes.chunks_exact(k).flat_map(|c| [c[0], c[1]]).collect::<Vec<f32>>();
            let xy = match autoencoder::pca::project(&codes, shown, k, 2, threads.count()) {
                Ok(autoencoder::pca::Projection::Coordinates(v)) if k > 2 => v,
                _ => first_two(),
            };
            xy.chunks_exact(2).map(|p| (p[0], p[1])).collect()
        } else {
            codes.iter().map(|&c| (c, 0.0)).collect()
        };
        let labels = data.labels.as_ref();
        let scatter =
            points.into_iter().enumerate().map(|(i, (a, b))| (a, b, labels.map(|l| l[i]))).collect();
        let scores = match anomaly::score_rows(model, data, None, threads) {
            Ok(s) => {
                let binary = labels.filter(|l| l.iter().all(|&v| v == 0 || v == 1)).cloned();
                Some((s.kind, s.scores, binary))
            }
            Err(_) => None,
        };
        Ok(Evidence { name: name.to_string(), rows, feature_error, feature_names, images, scatter, scores })
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An SVG plot of polylines (and optional vertical markers) in a `w × h` box.
struct Plot {
    w: f64,
    h: f64,
    x: (f64, f64),
    y: (f64, f64),
    body: String,
}

const PAD: f64 = 36.0;

impl Plot {
    fn new(x: (f64, f64), y: (f64, f64)) -> Plot {
        let fix = |(a, b): (f64, f64)| {
            if b > a && a.is_finite() && b.is_finite() {
                (a, b)
            } else {
                (a.min(0.0), a.max(0.0) + 1.0)
            }
        };
        Plot { w: 420.0, h: 260.0, x: fix(x), y: fix(y), body: String::new() }
    }
    fn px(&self, v: f64) -> f64 {
        PAD + (v - self.x.0) / (self.x.1 - self.x.0) * (self.w - 2.0 * PAD)
    }
    fn py(&self, v: f64) -> f64 {
        self.h - PAD - (v - self.y.0) / (self.y.1 - self.y.0) * (self.h - 2.0 * PAD)
    }
    fn line(&mut self, pts: &[(f64, f64)], color: &str, label: &str) {
        let d: Vec<String> = pts
            .iter()
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|&(a, b)| format!("{:.1},{:.1}", self.px(a), self.py(b)))
            .collect();
        let _ = write!(
            self.body,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{}"><title>{}</title></polyline>"#,
            d.join(" "),
            esc(label)
        );
    }
    fn bar(&mut self, x0: f64, x1: f64, v: f64, color: &str, title: &str) {
        let (a, b) = (self.px(x0), self.px(x1));
        let (top, base) = (self.py(v), self.py(self.y.0));
        let _ = write!(
            self.body,
            r#"<rect x="{a:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{}</title></rect>"#,
            (b - a - 0.5).max(0.5),
            (base - top).max(0.0),
            esc(title)
        );
    }
    fn vline(&mut self, x: f64, color: &str, label: &str) {
        let p = self.px(x);
        let _ = write!(
            self.body,
            r#"<line x1="{p:.1}" x2="{p:.1}" y1="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2"><title>{}</title></line>"#,
            PAD,
            self.h - PAD,
            esc(label)
        );
    }
    fn dot(&mut self, x: f64, y: f64, color: &str) {
        let _ = write!(
            self.body,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{color}" fill-opacity="0.6"/>"#,
            self.px(x),
            self.py(y)
        );
    }
    fn svg(&self, title: &str, xlabel: &str, ylabel: &str) -> String {
        let (w, h) = (self.w, self.h);
        format!(
            r##"<figure><svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">
<rect x="{PAD}" y="{PAD}" width="{iw}" height="{ih}" fill="#fafafa" stroke="#999"/>
{body}
<text x="{cx}" y="{by}" text-anchor="middle" font-size="11">{xl}</text>
<text x="10" y="{cy}" text-anchor="middle" font-size="11" transform="rotate(-90 10 {cy})">{yl}</text>
<text x="{PAD}" y="{by}" font-size="10">{x0}</text><text x="{xr}" y="{by}" font-size="10" text-anchor="end">{x1}</text>
<text x="{lx}" y="{yb}" font-size="10" text-anchor="end">{y0}</text><text x="{lx}" y="{yt}" font-size="10" text-anchor="end">{y1}</text>
</svg><figcaption>{t}</figcaption></figure>"##,
            t = esc(title),
            iw = w - 2.0 * PAD,
            ih = h - 2.0 * PAD,
            body = self.body,
            cx = w / 2.0,
            by = h - 8.0,
            cy = h / 2.0,
            xl = esc(xlabel),
            yl = esc(ylabel),
            x0 = short(self.x.0),
            x1 = short(self.x.1),
            xr = w - PAD,
            lx = PAD - 3.0,
            yb = h - PAD,
            yt = PAD + 8.0,
            y0 = short(self.y.0),
            y1 = short(self.y.1),
        )
    }
}

fn short(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-3) {
        format!("{v:.2e}")
    } else {
        format!("{:.3}", v).trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.filter(|x| x.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)))
}

const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf",
];

/// The page. `serving`: add the box that sends rows to the server it came from.
pub fn page(model: &Autoencoder, model_name: &str, evidence: Option<&Evidence>, serving: bool) -> String {
    let cfg = model.config();
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{name} — model card</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:left;font-size:.9em}}
figure{{display:inline-block;margin:.5em}}figcaption{{text-align:center;font-size:.85em}}
textarea{{width:100%;height:8em;font-family:monospace}}pre{{background:#f4f4f4;padding:.5em;overflow:auto}}
.err{{color:#b00}}</style></head><body>
<h1>{name}</h1><p>{arch} — {params} parameters, {kind}.</p>"#,
        name = esc(model_name),
        arch = esc(&cfg.describe()),
        params = model.param_count(),
        kind = if cfg.variational { "variational" } else { "deterministic" },
    );
    // Settings.
    h.push_str("<h2>Settings</h2><table>");
    let mut rows: Vec<(String, String)> = vec![("code width".into(), model.code_dim().to_string())];
    if let serde_json::Value::Object(m) = serde_json::to_value(cfg).unwrap_or_default() {
        for (k, v) in m {
            if !v.is_null() {
                rows.push((k, v.to_string()));
            }
        }
    }
    if let Some(det) = &model.detector {
        rows.push((
            "detector".into(),
            format!("{} score, threshold {} ({})", det.score, det.threshold, det.rule),
        ));
        if let Some(t) = det.training_scores {
            rows.push(("training rows flagged".into(), format!("{:.2}%", 100.0 * t.flagged)));
        }
    }
    for (k, v) in rows {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(&k), esc(&v));
    }
    h.push_str("</table>");
    // Training.
    if let Some(t) = &model.training {
        let _ = write!(
            h,
            "<h2>Training</h2><p>{} epochs on {} ({} rows × {}), seed {}; weights of epoch {}; stopped: {:?}.</p>",
            t.epochs_run,
            esc(&t.data),
            t.rows.0,
            t.rows.1,
            t.seed,
            t.weights_epoch,
            t.stop_reason
        );
        let n = t.train_loss.len().max(t.val_loss.len());
        if n > 0 {
            let y = range(t.train_loss.iter().chain(&t.val_loss).copied());
            let mut p = Plot::new((1.0, n as f64), (y.0.min(0.0), y.1));
            let pts = |v: &[f64]| v.iter().enumerate().map(|(i, &l)| ((i + 1) as f64, l)).collect::<Vec<_>>();
            p.line(&pts(&t.train_loss), COLORS[0], "training loss");
            p.line(&pts(&t.val_loss), COLORS[1], "validation loss");
            h.push_str(&p.svg("loss by epoch (blue: training, orange: validation)", "epoch", "loss"));
        }
    }
    if let Some(ev) = evidence {
        let _ = write!(h, "<h2>On {}</h2><p>{} rows.</p>", esc(&ev.name), ev.rows);
        if let Some((orig, recon, n)) = &ev.images {
            h.push_str(&images_table(model, orig, recon, *n));
        } else {
            let d = ev.feature_error.len();
            let mut p = Plot::new((0.0, d as f64), (0.0, range(ev.feature_error.iter().copied()).1));
            for (j, &e) in ev.feature_error.iter().enumerate() {
                p.bar(j as f64, j as f64 + 1.0, e, COLORS[0], &format!("{}: {e:.4}", ev.feature_names[j]));
            }
            h.push_str(&p.svg(
                "reconstruction error per feature (mean squared, normalised units)",
                "feature",
                "error",
            ));
            let mut worst: Vec<usize> = (0..d).collect();
            worst.sort_by(|&a, &b| ev.feature_error[b].total_cmp(&ev.feature_error[a]));
            h.push_str("<table><tr><th>feature</th><th>mean squared error</th></tr>");
            for &j in worst.iter().take(10) {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{:.5}</td></tr>",
                    esc(&ev.feature_names[j]),
                    ev.feature_error[j]
                );
            }
            h.push_str("</table>");
        }
        if !ev.scatter.is_empty() {
            let x = range(ev.scatter.iter().map(|p| f64::from(p.0)));
            let y = range(ev.scatter.iter().map(|p| f64::from(p.1)));
            let mut p = Plot::new(x, y);
            for &(a, b, l) in &ev.scatter {
                let c = l.map_or(COLORS[0], |l| COLORS[(l.rem_euclid(10)) as usize]);
                p.dot(f64::from(a), f64::from(b), c);
            }
            let what = if model.code_dim() > 2 { "codes, first two principal components" } else { "codes" };
            h.push_str(&p.svg(
                &format!("{what} (coloured by label when there are labels)"),
                "component 1",
                "component 2",
            ));
        }
        if let Some((kind, scores, labels)) = &ev.scores {
            if let Some(hist) = anomaly::histogram(scores, 40) {
                let top = *hist.counts.iter().max().unwrap_or(&1) as f64;
                let mut p = Plot::new((hist.edges[0], *hist.edges.last().unwrap()), (0.0, top));
                for (i, &c) in hist.counts.iter().enumerate() {
                    p.bar(hist.edges[i], hist.edges[i + 1], c as f64, COLORS[0], &format!("{c} rows"));
                }
                let mut title = format!("{kind} scores");
                if let Some(det) = model.detector.as_ref().filter(|d| d.score == *kind) {
                    if det.threshold >= hist.edges[0] && det.threshold <= *hist.edges.last().unwrap() {
                        p.vline(det.threshold, "#d62728", "threshold");
                    }
                    title.push_str(&format!(", threshold {} (red)", short(det.threshold)));
                }
                h.push_str(&p.svg(&title, "score", "rows"));
            }
            if let Some(labels) = labels {
                let ranked = anomaly::Ranked::new(scores, labels);
                if let Some(roc) = ranked.roc_curve() {
                    let auc = ranked.roc_auc().unwrap_or(f64::NAN);
                    let mut p = Plot::new((0.0, 1.0), (0.0, 1.0));
                    p.line(&[(0.0, 0.0), (1.0, 1.0)], "#bbb", "chance");
                    p.line(&roc.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>(), COLORS[0], "ROC");
                    h.push_str(&p.svg(
                        &format!("ROC curve, area {auc:.4}"),
                        "false-positive rate",
                        "true-positive rate",
                    ));
                }
                if let Some(pr) = ranked.pr_curve() {
                    let mut p = Plot::new((0.0, 1.0), (0.0, 1.0));
                    p.line(&pr.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>(), COLORS[0], "precision-recall");
                    h.push_str(&p.svg("precision against recall", "recall", "precision"));
                }
            }
        }
    }
    if serving {
        let _ = write!(
            h,
            r#"<h2>Try it</h2><p>Paste rows of {d} comma-separated numbers (a header line is fine) and send them to this server.</p>
<textarea id="rows" aria-label="rows"></textarea><p><button id="send">Score and reconstruct</button></p>
<div id="out"></div>
<script>
(function () {{
  const out = document.getElementById("out");
  function cells(v) {{ return v.map(x => "<td>" + (x === null ? "—" : Number(x).toPrecision(6)) + "</td>").join(""); }}
  document.getElementById("send").addEventListener("click", async function () {{
    const text = document.getElementById("rows").value.trim();
    out.textContent = "…";
    try {{
      const head = {{ "Content-Type": "text/csv" }};
      const [s, r] = await Promise.all([
        fetch("v1/score", {{ method: "POST", headers: head, body: text + "\n" }}),
        fetch("v1/reconstruct", {{ method: "POST", headers: head, body: text + "\n" }}),
      ]);
      if (!s.ok) {{ out.innerHTML = '<p class="err" id="error"></p>'; document.getElementById("error").textContent = (await s.json()).error; return; }}
      const scores = (await s.text()).trim().split("\n").slice(1).map(l => l.split(","));
      const recon = r.ok ? (await r.text()).trim().split("\n").slice(1).map(l => l.split(",").map(Number)) : [];
      let html = '<table id="result"><tr><th>row</th><th>score</th><th>outlier</th><th colspan="{d}">reconstruction</th></tr>';
      scores.forEach(function (s, i) {{
        html += "<tr><td>" + i + '</td><td class="score">' + s[0] + "</td><td>" + (s.length > 1 ? s[1] : "") + "</td>" + cells(recon[i] || []) + "</tr>";
      }});
      out.innerHTML = html + "</table>";
    }} catch (e) {{
      out.innerHTML = '<p class="err"></p>'; out.firstChild.textContent = String(e);
    }}
  }});
}})();
</script>"#,
            d = model.input_dim()
        );
    }
    let _ = writeln!(
        h,
        "<p><small>autoencoder {} — model card</small></p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// Originals above reconstructions, as inline PNG images.
fn images_table(model: &Autoencoder, orig: &[f32], recon: &[f32], n: usize) -> String {
    let Some(shape) = model.config().image_shape else { return String::new() };
    let d = shape.len();
    let mut h = String::from("<table><tr><th>original</th>");
    let img = |v: &[f32]| -> String {
        // Channels-first values in [0, 1] as 8-bit grey (one channel) or RGB (three),
        // drawn 3× larger; other channel counts show their first channel.
        let (c, hh, ww) = (shape.channels, shape.height, shape.width);
        let rgb = c == 3;
        let mut raw = Vec::with_capacity(hh * ww * 9 * if rgb { 3 } else { 1 });
        for y in 0..hh * 3 {
            for x in 0..ww * 3 {
                let at = |ch: usize| {
                    (v[ch * hh * ww + (y / 3) * ww + x / 3].clamp(0.0, 1.0) * 255.0).round() as u8
                };
                if rgb {
                    raw.extend([at(0), at(1), at(2)]);
                } else {
                    raw.push(at(0));
                }
            }
        }
        let color = if rgb { image::ExtendedColorType::Rgb8 } else { image::ExtendedColorType::L8 };
        match crate::png::encode_png(&raw, (ww * 3) as u32, (hh * 3) as u32, color) {
            Ok(bytes) => format!(
                r#"<td><img alt="" src="data:image/png;base64,{}"></td>"#,
                BASE64_STANDARD.encode(bytes)
            ),
            Err(_) => "<td>—</td>".into(),
        }
    };
    for i in 0..n {
        h.push_str(&img(&orig[i * d..(i + 1) * d]));
    }
    h.push_str("</tr><tr><th>reconstruction</th>");
    for i in 0..n {
        h.push_str(&img(&recon[i * d..(i + 1) * d]));
    }
    h.push_str("</tr></table>");
    h
}
