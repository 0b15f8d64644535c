"""`ae export --format onnx`: the graph passes onnx.checker, and ONNX Runtime's codes,
reconstructions and scores match `ae encode`, `ae reconstruct` and `ae score` to 1e-5,
for dense, tied, variational and convolutional (batch norm, pooling) models."""

import csv

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed (.ci/run installs it)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (.ci/run installs it)")


def run_graph(path, **feeds):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds)))


def ae_outputs(ae, model, data, tmp_path, score=None):
    """What `ae` gives for `data`: codes, reconstructions and scores."""
    ae("encode", model, data, "-o", tmp_path / "codes.npy", "--threads", 1)
    ae("reconstruct", model, data, "-o", tmp_path / "rec.npy", "--threads", 1)
    extra = ["--score", score] if score else []
    ae("score", model, data, "-o", tmp_path / "s.csv", "--threads", 1, *extra)
    with open(tmp_path / "s.csv") as f:
        scores = np.array([float(r["score"]) for r in csv.DictReader(f)])
    return np.load(tmp_path / "codes.npy"), np.load(tmp_path / "rec.npy"), scores


def check_all(ae, model, data, rows, tmp_path, score=None):
    """Export every part of `model`, check each graph and compare it with `ae`."""
    codes, rec, scores = ae_outputs(ae, model, data, tmp_path, score)
    x = rows.reshape(len(rows), -1).astype(np.float32)
    extra = ["--score", score] if score else []
    ae("export", model, "-o", tmp_path / "m.onnx", *extra)
    m = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(m, full_check=True)
    assert [o.name for o in m.graph.output] == ["code", "reconstruction", "score"]
    assert m.opset_import[0].version == 17
    # Any number of rows: the batch dimension is dynamic.
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    out = run_graph(tmp_path / "m.onnx", x=x)
    np.testing.assert_allclose(out["code"], codes, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["reconstruction"], rec, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["score"], scores, rtol=1e-5, atol=1e-6)
    one = run_graph(tmp_path / "m.onnx", x=x[3:4])
    np.testing.assert_allclose(one["score"], scores[3:4], rtol=1e-5, atol=1e-6)
    for part, feeds, name, want in (
        ("encoder", {"x": x}, "code", codes),
        ("reconstruct", {"x": x}, "reconstruction", rec),
        ("score", {"x": x}, "score", scores),
        ("decoder", {"code": codes.astype(np.float32)}, "reconstruction", rec),
    ):
        ae("export", model, "--part", part, "-o", tmp_path / f"{part}.onnx", *extra)
        g = onnx.load(str(tmp_path / f"{part}.onnx"))
        onnx.checker.check_model(g, full_check=True)
        got = run_graph(tmp_path / f"{part}.onnx", **feeds)
        assert list(got) == [name], part
        np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-5, err_msg=part)
    return m


def test_a_tabular_detector_exports_its_normaliser_layers_and_score(ae, table, tmp_path):
    np.save(tmp_path / "x.npy", table)
    ae("train", tmp_path / "x.npy", "--preset", "tabular", "--min-steps", 40, "--threads", 1,
       "--threshold", "contamination=0.05", "--quiet", "--no-plots", "-o", tmp_path / "m.safetensors")
    m = check_all(ae, tmp_path / "m.safetensors", tmp_path / "x.npy", table, tmp_path)
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["score"] == "root" and float(meta["threshold"]) > 0
    # Dropout is not in the graph; the z-scores are.
    ops = {n.op_type for n in m.graph.node}
    assert "Dropout" not in ops and {"Sub", "Mul", "Gemm", "Tanh", "ReduceMean", "Sqrt"} <= ops


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "softplus"])
def test_tied_models_and_every_activation_match(ae, table, tmp_path, activation):
    np.save(tmp_path / "x.npy", table)
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--tied", "--activation", activation,
       "--normalize", "minmax", "--epochs", 3, "--threads", 1, "--quiet", "--no-plots",
       "-o", tmp_path / "m.safetensors")
    check_all(ae, tmp_path / "m.safetensors", tmp_path / "x.npy", table, tmp_path, score="mae")


def test_a_variational_model_exports_its_mean_code_and_refuses_the_elbo(ae, table, tmp_path):
    np.save(tmp_path / "x.npy", table)
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--variational", "--epochs", 3, "--threads", 1,
       "--quiet", "--no-plots", "-o", tmp_path / "m.safetensors")
    # Its own score is the ELBO: the default graph leaves the score out and says why …
    p = ae("export", tmp_path / "m.safetensors", "-o", tmp_path / "d.onnx")
    assert "no score output" in p.stderr and "elbo" in p.stderr
    assert [o.name for o in onnx.load(str(tmp_path / "d.onnx")).graph.output] == ["code", "reconstruction"]
    # … a score graph of it is refused in one line …
    p = ae("export", tmp_path / "m.safetensors", "--part", "score", "-o", tmp_path / "s.onnx", check=False)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and "elbo" in p.stderr
    assert not (tmp_path / "s.onnx").exists()
    # … and a reconstruction score of it matches.
    check_all(ae, tmp_path / "m.safetensors", tmp_path / "x.npy", table, tmp_path, score="mse")


@pytest.mark.parametrize("downsample", ["pool", "stride"])
def test_a_conv_model_with_batch_norm_matches(ae, tmp_path, downsample):
    rng = np.random.default_rng(5)
    # Three channels, so that reading the rows channels-first is tested.
    x = rng.uniform(0, 1, size=(64, 3, 8, 8)).astype(np.float32)
    x[:, 1, 2:5, 2:5] += 0.5
    np.save(tmp_path / "img.npy", x)
    ae("train", tmp_path / "img.npy", "--arch", "conv", "--channels", "4,6", "--batch-norm",
       "--downsample", downsample, "--dropout", "0.1", "--layers", 5, "--epochs", 2, "--batch-size", 16,
       "--threads", 1, "--quiet", "--no-plots", "-o", tmp_path / "m.safetensors")
    m = check_all(ae, tmp_path / "m.safetensors", tmp_path / "img.npy", x, tmp_path)
    ops = {n.op_type for n in m.graph.node}
    assert {"Conv", "ConvTranspose", "BatchNormalization"} <= ops
    assert ("MaxPool" in ops and "Resize" in ops) == (downsample == "pool")


def test_missing_values_and_standardized_scores(ae, table, tmp_path):
    holes = table.copy()
    holes[::7, 2] = np.nan
    np.save(tmp_path / "x.npy", holes)
    ae("train", tmp_path / "x.npy", "--preset", "tabular", "--min-steps", 20, "--missing", "mean",
       "--score", "standardized", "--threshold", "contamination=0.05", "--threads", 1, "--quiet", "--no-plots", "-o", tmp_path / "m.safetensors")
    check_all(ae, tmp_path / "m.safetensors", tmp_path / "x.npy", holes, tmp_path)


def test_bad_requests_are_one_line_errors(ae, table, tmp_path):
    np.save(tmp_path / "x.npy", table)
    ae("train", tmp_path / "x.npy", "--layers", "4", "--epochs", 1, "--quiet", "--no-plots",
       "-o", tmp_path / "m.safetensors")
    p = ae("export", tmp_path / "m.safetensors", "--part", "middle", "-o", tmp_path / "a.onnx", check=False)
    assert p.returncode == 2 and "middle" in p.stderr and "encoder" in p.stderr
    (tmp_path / "junk.safetensors").write_bytes(b"not a model at all")
    p = ae("export", tmp_path / "junk.safetensors", "-o", tmp_path / "b.onnx", check=False)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and "junk.safetensors" in p.stderr
    p = ae("export", tmp_path / "m.safetensors", "--score", "standardized", "-o", tmp_path / "c.onnx", check=False)
    assert p.returncode == 1 and "standardized" in p.stderr
    for name in ("a.onnx", "b.onnx", "c.onnx"):
        assert not (tmp_path / name).exists()
    # The model file is never the output.
    p = ae("export", tmp_path / "m.safetensors", "-o", tmp_path / "m.safetensors", check=False)
    assert p.returncode == 1
    assert (tmp_path / "m.safetensors").stat().st_size > 100


def test_python_writes_the_bytes_ae_export_writes(ae, table, tmp_path):
    import autoencoder

    np.save(tmp_path / "x.npy", table)
    det = autoencoder.AnomalyDetector(contamination=0.05, min_steps=40, threads=1).fit(table, source=tmp_path / "x.npy")
    det.save(tmp_path / "m.safetensors")
    ae("export", tmp_path / "m.safetensors", "-o", tmp_path / "cli.onnx")
    data = det.to_onnx(tmp_path / "py.onnx")
    assert data == (tmp_path / "cli.onnx").read_bytes() == (tmp_path / "py.onnx").read_bytes()
    out = run_graph(tmp_path / "py.onnx", x=table)
    np.testing.assert_allclose(out["score"], det.decision_function(table), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["code"], det.transform(table), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="middle"):
        det.to_onnx(part="middle")
