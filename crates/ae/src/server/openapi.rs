//! The OpenAPI 3.1 document `GET /openapi.json` serves: every endpoint, the three body
//! types, the answers and the errors, with the served model's widths.

use autoencoder::Autoencoder;
use serde_json::{json, Value};

use super::Settings;

/// The document for `model` under `settings`' limits.
pub fn document(model: &Autoencoder, settings: &Settings) -> Value {
    let d = model.input_dim();
    let k = model.code_dim();
    // A value: a number within f32's range; null (missing) only for a model that fills.
    // The text of a number at or past f32::MAX + half an ulp (2^128 − 2^103) rounds to
    // infinity and is refused; anything nearer zero is read.
    let edge = super::body::F32_EDGE;
    let value = if model.normalizer().fills_missing() {
        json!({ "type": ["number", "null"], "exclusiveMinimum": -edge, "exclusiveMaximum": edge })
    } else {
        json!({ "type": "number", "exclusiveMinimum": -edge, "exclusiveMaximum": edge })
    };
    // An answer's number is null where it is not finite (an input so far outside the
    // training range that the computation overflowed): JSON has no infinity.
    let out_number = json!({ "type": ["number", "null"] });
    let row = |w: usize| json!({ "type": "array", "items": value.clone(), "minItems": w, "maxItems": w });
    // CSV as the schema can say it: rows of `d` plain decimals (the server also reads a
    // header line, exponents and the missing-value texts).
    let field = "-?[0-9]{1,6}(\\.[0-9]{1,6})?";
    let csv_row = format!("({field},){{{}}}{field}", d.saturating_sub(1));
    let csv_pattern = format!("^{csv_row}(\\n{csv_row})*\\n?$");
    let csv_example = format!("{}\n", vec!["1.5"; d].join(","));
    let number_row =
        |w: usize| json!({ "type": "array", "items": out_number.clone(), "minItems": w, "maxItems": w });
    let rows_body = json!({
        "type": "object",
        "required": ["rows"],
        "additionalProperties": false,
        "properties": { "rows": {
            "type": "array", "items": row(d), "minItems": 1, "maxItems": settings.max_rows,
            "description": format!("rows of {d} values in the model's input units; null is a missing value (only for a model trained with --missing mean)")
        } }
    });
    let error =
        json!({ "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } });
    let errors = |ok: Value| {
        let e = |why: &str| json!({ "description": why, "content": { "application/json": { "schema": error.clone() } } });
        json!({
            "200": ok,
            "400": e("the body is malformed, has the wrong width, holds a value that is not a finite number, or no rows"),
            "408": e("the request took longer than the server's --timeout"),
            "409": e("the model was reloaded with another width while the request waited"),
            "413": e("the body is larger than --max-body-mb, holds more rows than --max-rows, or would get a response that may take more than twice --max-body-mb's bytes (4 bytes a value in NPY, 25 in JSON, 49 in CSV)"),
            "415": e("the Content-Type is not JSON, CSV, NPY, Parquet or Arrow IPC"),
            "503": e("--max-concurrency requests are running, or the server is stopping"),
        })
    };
    let request = json!({
        "required": true,
        "content": {
            "application/json": { "schema": rows_body },
            "text/csv": { "schema": { "type": "string", "pattern": csv_pattern, "description": "CSV rows, a header optional; the Content-Type's parameters say how they are read, as ae's flags: header=present|absent, delimiter=tab|comma|semicolon|bar (told from the first lines when not given), decimal=point|comma, thousands=comma|point|space|apostrophe|underscore" }, "example": csv_example },
            "application/x-npy": { "schema": { "type": "string", "format": "binary", "description": format!("a NumPy .npy array of shape (rows, {d}), any numeric dtype") } }
        }
    });
    let answer = |json_schema: Value, csv: &str| {
        json!({
            "description": "the answer, in the request's media type (JSON for Parquet and Arrow IPC bodies)",
            "content": {
                "application/json": { "schema": json_schema },
                "text/csv": { "schema": { "type": "string" }, "example": csv },
                "application/x-npy": { "schema": { "type": "string", "format": "binary" } }
            }
        })
    };
    let scores = json!({
        "type": "object", "required": ["score", "scores"],
        "properties": {
            "score": { "type": "string", "description": "the score's kind: mse, mae, root, standardized or elbo" },
            "scores": { "type": "array", "items": out_number.clone(), "description": "null where a score is not finite" },
            "threshold": { "type": "number" },
            "outliers": { "type": "array", "items": { "type": "integer", "enum": [0, 1] } }
        }
    });
    let codes = json!({ "type": "object", "required": ["codes"], "properties": { "codes": { "type": "array", "items": number_row(k) } } });
    let recons = json!({ "type": "object", "required": ["reconstructions"], "properties": { "reconstructions": { "type": "array", "items": number_row(d) } } });
    let op = |summary: &str, ok: Value| json!({ "post": { "summary": summary, "requestBody": request.clone(), "responses": errors(ok) } });
    let get_json = |summary: &str, schema: Value| {
        json!({ "get": { "summary": summary, "responses": {
        "200": { "description": summary, "content": { "application/json": { "schema": schema } } } } } })
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ae serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("An autoencoder ({}) served by `ae serve`: rows of {d} values in, scores, {k}-value codes or reconstructions out.", model.config().describe())
        },
        "paths": {
            "/v1/score": op("Anomaly score of each row (as ae score), with the detector's outlier flags", answer(scores, "score,outlier\n0.42,0\n")),
            "/v1/encode": op("The code of each row (as ae encode)", answer(codes, "z1,z2\n0.1,-0.3\n")),
            "/v1/reconstruct": op("The reconstruction of each row (as ae reconstruct)", answer(recons, "x1,x2\n1.0,2.0\n")),
            "/v1/model": get_json("The model card: architecture, widths, normaliser, detector, training", json!({ "type": "object" })),
            "/health": get_json("Whether the server answers", json!({ "type": "object", "required": ["status"], "properties": { "status": { "type": "string" }, "generation": { "type": "integer" } } })),
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "Prometheus text format", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
            "/openapi.json": get_json("This document", json!({ "type": "object" })),
            "/": { "get": { "summary": "The model card page, with a box to send rows", "responses": { "200": { "description": "HTML", "content": { "text/html": { "schema": { "type": "string" } } } } } } }
        }
    })
}
