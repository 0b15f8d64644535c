"""The Python package and the command give the same bits: the same settings, seed and
threads write the same model file; the outputs equal `ae encode`, `ae reconstruct`,
`ae decode` and `ae score`; files move both ways."""

import numpy as np
import pytest

import autoencoder
from conftest import bits


def read_scores(path):
    lines = open(path).read().split("\n")[1:]
    rows = [l.split(",") for l in lines if l]
    return np.array([float(r[1]) for r in rows]), [int(r[2]) for r in rows] if len(rows[0]) > 2 else None


def test_the_same_settings_write_the_same_model_file(ae, table, tmp_path):
    np.save(tmp_path / "x.npy", table)
    est = autoencoder.Autoencoder(layers=(8, 3), epochs=3, seed=5, threads=1, threshold="contamination=0.05")
    est.fit(table, source=tmp_path / "x.npy")
    est.save(tmp_path / "py.safetensors")
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--epochs", 3, "--seed", 5, "--threads", 1,
       "--threshold", "contamination=0.05", "-o", tmp_path / "cli.safetensors", "--no-plots", "-q")
    py = (tmp_path / "py.safetensors").read_bytes()
    cli = (tmp_path / "cli.safetensors").read_bytes()
    assert py == cli
    # The data chose z-scores (its values leave [0, 1]), as the command says it did.
    assert any(c.startswith("normalize") for c in est.chosen_)


def test_a_warm_start_is_ae_train_from(ae, table, tmp_path):
    """``warm_start=True`` refits from ``model_``'s weights, as ``ae train --from``
    does from the model file: the same bytes; the architecture stays the model's."""
    np.save(tmp_path / "x.npy", table)
    est = autoencoder.Autoencoder(layers=(8, 3), epochs=2, seed=5, threads=1)
    est.fit(table, source=tmp_path / "x.npy")
    est.save(tmp_path / "first.safetensors")
    est.set_params(warm_start=True, epochs=1, batch_size=16, seed=6)
    est.fit(table, source=tmp_path / "x.npy")
    est.save(tmp_path / "py.safetensors")
    ae("train", tmp_path / "x.npy", "--from", tmp_path / "first.safetensors", "--epochs", 1,
       "--batch-size", 16, "--seed", 6, "--threads", 1, "-o", tmp_path / "cli.safetensors", "--no-plots", "-q")
    assert (tmp_path / "py.safetensors").read_bytes() == (tmp_path / "cli.safetensors").read_bytes()
    assert (tmp_path / "py.safetensors").read_bytes() != (tmp_path / "first.safetensors").read_bytes()
    # Without warm_start the same settings start from new weights.
    cold = autoencoder.Autoencoder(layers=(8, 3), epochs=1, batch_size=16, seed=6, threads=1)
    cold.fit(table, source=tmp_path / "x.npy")
    cold.save(tmp_path / "cold.safetensors")
    assert (tmp_path / "cold.safetensors").read_bytes() != (tmp_path / "py.safetensors").read_bytes()
    # Another architecture is refused, naming it.
    with pytest.raises(ValueError, match=r"layers: the model's \[8,3\], asked \[4\]"):
        est.set_params(layers=(4,)).fit(table)


def test_the_tabular_detector_is_ae_train_preset_tabular(ae, table, tmp_path):
    np.save(tmp_path / "x.npy", table)
    det = autoencoder.AnomalyDetector(contamination=0.05, min_steps=60, threads=1).fit(table, source=tmp_path / "x.npy")
    det.save(tmp_path / "py.safetensors")
    ae("train", tmp_path / "x.npy", "--preset", "tabular", "--min-steps", 60, "--threads", 1,
       "--threshold", "contamination=0.05", "-o", tmp_path / "cli.safetensors", "--no-plots", "-q")
    assert (tmp_path / "py.safetensors").read_bytes() == (tmp_path / "cli.safetensors").read_bytes()
    # Scores and flags as `ae score` writes them.
    ae("score", tmp_path / "cli.safetensors", tmp_path / "x.npy", "-o", tmp_path / "s.csv", "--threads", 1)
    scores, flags = read_scores(tmp_path / "s.csv")
    assert bits(det.decision_function(table)) == bits(scores)
    assert det.predict(table).tolist() == flags
    assert det.labels_.tolist() == flags
    assert det.threshold_ == autoencoder.load(tmp_path / "cli.safetensors").model_.threshold


def test_a_conv_model_is_the_same_from_python_and_ae(ae, images, tmp_path):
    np.save(tmp_path / "img.npy", images)
    est = autoencoder.Autoencoder(arch="conv", channels=(4, 8), layers=(6,), epochs=2, batch_size=16, seed=1, threads=1)
    est.fit(images, source=tmp_path / "img.npy")
    est.save(tmp_path / "py.safetensors")
    ae("train", tmp_path / "img.npy", "--arch", "conv", "--channels", "4,8", "--layers", 6, "--epochs", 2,
       "--batch-size", 16, "--seed", 1, "--threads", 1, "-o", tmp_path / "cli.safetensors", "--no-plots", "-q")
    assert (tmp_path / "py.safetensors").read_bytes() == (tmp_path / "cli.safetensors").read_bytes()
    assert est.model_.image_shape == (1, 8, 8)


@pytest.mark.parametrize("variational", [False, True])
def test_outputs_equal_the_commands_bit_for_bit(ae, table, tmp_path, variational):
    np.save(tmp_path / "x.npy", table)
    extra = ["--variational"] if variational else []
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--epochs", 2, "--threads", 1, *extra,
       "-o", tmp_path / "m.safetensors", "--no-plots", "-q")
    est = autoencoder.load(tmp_path / "m.safetensors")
    est.set_params(threads=1)
    ae("encode", tmp_path / "m.safetensors", tmp_path / "x.npy", "-o", tmp_path / "codes.npy", "--threads", 1)
    ae("reconstruct", tmp_path / "m.safetensors", tmp_path / "x.npy", "-o", tmp_path / "rec.npy", "--threads", 1)
    ae("score", tmp_path / "m.safetensors", tmp_path / "x.npy", "-o", tmp_path / "s.csv", "--threads", 1)
    codes = est.transform(table)
    assert bits(codes) == bits(np.load(tmp_path / "codes.npy"))
    assert bits(est.predict(table)) == bits(np.load(tmp_path / "rec.npy"))
    scores, _ = read_scores(tmp_path / "s.csv")
    assert bits(est.score_samples(table)) == bits(scores)
    np.save(tmp_path / "codes.npy", codes)
    ae("decode", tmp_path / "m.safetensors", tmp_path / "codes.npy", "-o", tmp_path / "dec.npy", "--threads", 1)
    assert bits(est.inverse_transform(codes)) == bits(np.load(tmp_path / "dec.npy"))


def _evaluate_json(ae, *args):
    """`ae evaluate --json`'s numbers: without the timings, the paths and the names."""
    import json

    out = json.loads(ae("evaluate", *args, "--json", "--threads", 1).stdout)
    for k in ("model", "architecture", "data", "inference_seconds", "inference_rows_per_second"):
        del out[k]
    out.get("pca", {}).pop("fit_seconds", None)
    out.get("pca", {}).pop("fitted_on", None)
    out.get("vae", {}).pop("nll_seconds", None)
    return out


@pytest.mark.parametrize("variational", [False, True])
def test_evaluate_is_ae_evaluate(ae, table, tmp_path, variational):
    """``evaluate`` reports `ae evaluate --json`'s numbers bit for bit: of an array (PCA
    fitted on it, as `ae` fits it on the rows it evaluates), and of Files a part at a
    time with PCA fitted on ``pca_fit`` (`--stream --pca-fit`); a VAE of this table
    (values outside [0, 1]) with its Gaussian decoder's ELBO and likelihood."""
    np.save(tmp_path / "x.npy", table)
    np.save(tmp_path / "fit.npy", table[:100])
    extra = ["--variational"] if variational else []
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--epochs", 2, "--threads", 1, *extra,
       "-o", tmp_path / "m.safetensors", "--no-plots", "-q")
    est = autoencoder.load(tmp_path / "m.safetensors")
    est.set_params(threads=1)
    got = est.evaluate(table, iw_samples=5)
    assert got["pca"].pop("fitted_on") == "X"
    assert got == _evaluate_json(ae, tmp_path / "m.safetensors", tmp_path / "x.npy", "--iw-samples", 5)
    assert ("vae" in got) == variational and got["rows"] == 240
    if variational:
        assert got["vae"]["decoder"] == "gaussian" and got["vae"]["nll"] is not None
    got = est.evaluate(autoencoder.Files(tmp_path / "x.npy"), iw_samples=0,
                       pca_fit=autoencoder.Files(tmp_path / "fit.npy"))
    assert got["pca"].pop("fitted_on") == str(tmp_path / "fit.npy")
    assert got == _evaluate_json(ae, tmp_path / "m.safetensors", tmp_path / "x.npy", "--stream",
                                 "--pca-fit", tmp_path / "fit.npy", "--iw-samples", 0)
    # Binarised first (from seed 7), as `ae evaluate --binarize 7`; PCA on the binarised
    # rows. Binarising takes probabilities: the table's values scaled into [0, 1].
    unit = (table - table.min()) / (table.max() - table.min())
    np.save(tmp_path / "u.npy", unit)
    got = est.evaluate(unit, iw_samples=5, binarize=7)
    got["pca"].pop("fitted_on")
    assert got == _evaluate_json(ae, tmp_path / "m.safetensors", tmp_path / "u.npy", "--iw-samples", 5, "--binarize", 7)
    assert got["mse"] != est.evaluate(unit, iw_samples=5)["mse"]
    # Three shards, three parts: the draws run on across them.
    (tmp_path / "ushards").mkdir()
    for i, part in enumerate(np.array_split(unit, 3)):
        np.save(tmp_path / "ushards" / f"{i}.npy", part)
    got = est.evaluate(autoencoder.Files(tmp_path / "ushards"), iw_samples=5, pca=False, binarize=7)
    assert got == _evaluate_json(ae, tmp_path / "m.safetensors", tmp_path / "u.npy", "--no-pca",
                                 "--iw-samples", 5, "--binarize", 7)
    # PCA fitted on the shards themselves, in two passes over their parts, binarised
    # alike: the fit on the rows read whole, and `ae evaluate --stream`'s.
    got = est.evaluate(autoencoder.Files(tmp_path / "ushards"), iw_samples=0, binarize=7)
    assert got["pca"].pop("fitted_on") == f"{tmp_path / 'ushards'} (3 shards)"
    assert got == _evaluate_json(ae, tmp_path / "m.safetensors", tmp_path / "u.npy", "--iw-samples", 0, "--binarize", 7)
    # Values that are no probabilities are refused, as `ae evaluate --binarize` refuses them.
    with pytest.raises(ValueError, match=r"row 1, column 1 is .*binarising draws each value as the probability"):
        est.evaluate(table, binarize=7)
    (tmp_path / "shards").mkdir()
    for i, part in enumerate(np.array_split(table, 3)):
        np.save(tmp_path / "shards" / f"{i}.npy", part)
    # And on Files beside an array.
    got = est.evaluate(table, iw_samples=0, pca_fit=autoencoder.Files(tmp_path / "shards"))
    assert got["pca"].pop("fitted_on") == f"{tmp_path / 'shards'} (3 shards)"
    want = est.evaluate(table, iw_samples=0, pca_fit=table)
    assert want["pca"].pop("fitted_on") == "pca_fit"
    assert got == want
    assert "pca" not in est.evaluate(table, pca=False)
    with pytest.raises(ValueError, match="binarize"):
        est.evaluate(table, binarize=-1)
    with pytest.raises(ValueError, match="iw_samples"):
        est.evaluate(table, iw_samples=-1)


@pytest.mark.parametrize("variational", [False, True])
def test_sample_is_ae_generate(ae, table, tmp_path, variational):
    """``sample`` draws `ae generate`'s rows bit for bit: a VAE's prior, and a plain
    model's training codes' histograms; bad counts and seeds are ``ValueError``s, and a
    count past the memory budget is refused before any draw."""
    np.save(tmp_path / "x.npy", table)
    extra = ["--variational"] if variational else []
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--epochs", 2, "--threads", 1, *extra,
       "-o", tmp_path / "m.safetensors", "--no-plots", "-q")
    ae("generate", tmp_path / "m.safetensors", "-n", 7, "--seed", 5, "-o", tmp_path / "g.npy")
    est = autoencoder.load(tmp_path / "m.safetensors")
    got = est.sample(7, seed=5)
    assert got.shape == (7, table.shape[1]) and got.dtype == np.float32
    assert bits(got) == bits(np.load(tmp_path / "g.npy"))
    assert bits(est.sample(3, seed=5)) == bits(got[:3])
    assert bits(est.sample(7, seed=6)) != bits(got)
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match="n_samples"):
            est.sample(bad)
    for bad in (-1, 1.5, 1 << 64):
        with pytest.raises(ValueError, match="seed"):
            est.sample(2, seed=bad)
    with pytest.raises(ValueError, match=r"^n_samples: 1000000000000000 rows of .* more than the memory budget"):
        est.sample(10**15)


@pytest.mark.parametrize("variational", [False, True])
def test_interpolate_and_traverse_are_ae_s(ae, table, tmp_path, variational):
    """``interpolate`` and ``traverse`` decode `ae interpolate`'s and `ae traverse`'s
    rows bit for bit (a variational model's prior range, a plain model's training codes'
    range); bad rows, steps, dimensions and ranges are ``ValueError``s."""
    np.save(tmp_path / "x.npy", table)
    m = tmp_path / "m.safetensors"
    extra = ["--variational"] if variational else []
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--epochs", 2, "--threads", 1, *extra,
       "-o", m, "--no-plots", "-q")
    ae("interpolate", m, tmp_path / "x.npy", "--rows", "2,9", "--steps", 6, "-o", tmp_path / "i.npy")
    ae("traverse", m, "--dims", 2, "--steps", 5, "--range", 2.5, "-o", tmp_path / "t.npy")
    est = autoencoder.load(m)
    got = est.interpolate(table[2], table[9], steps=6)
    assert got.shape == (6, table.shape[1]) and got.dtype == np.float32
    assert bits(got) == bits(np.load(tmp_path / "i.npy"))
    assert bits(est.interpolate(table[2:3], table[9:10], steps=6)) == bits(got)
    got = est.traverse(dims=2, steps=5, range=2.5)
    assert got.shape == (10, table.shape[1])
    assert bits(got) == bits(np.load(tmp_path / "t.npy"))
    assert est.traverse().shape == (3 * 9, table.shape[1])
    with pytest.raises(ValueError, match="steps"):
        est.interpolate(table[2], table[9], steps=1)
    with pytest.raises(ValueError, match=r"^b must be one row of 6 values, got shape \(2, 6\)"):
        est.interpolate(table[2], table[3:5])
    with pytest.raises(ValueError, match=r"^a must be one row of 6 values, got shape \(1, 5\)"):
        est.interpolate(table[2, :5], table[9])
    for dims in (0, 4, 1.5):
        with pytest.raises(ValueError, match="dims"):
            est.traverse(dims=dims)
    with pytest.raises(ValueError, match="more than the memory budget"):
        est.interpolate(table[2], table[9], steps=10**15)
    if variational:
        for bad in (float("nan"), 0.0, -1.0, "3"):
            with pytest.raises(ValueError, match="range"):
                est.traverse(range=bad)


def test_wide_files_fit_the_randomised_pca_of_the_rows_whole(tmp_path):
    """Rows wider than 1,024 values read a part at a time get the PCA baseline of the
    rows read whole: the randomised fit, in its passes over the parts."""
    rng = np.random.default_rng(3)
    X = (rng.normal(size=(200, 6)) @ rng.normal(size=(6, 1030)) + 0.1 * rng.normal(size=(200, 1030))).astype(np.float32)
    (tmp_path / "wide").mkdir()
    for i, part in enumerate(np.array_split(X, 3)):
        np.save(tmp_path / "wide" / f"{i}.npy", part)
    est = autoencoder.Autoencoder(layers=(3,), epochs=1, threads=1, seed=2).fit(X)
    got = est.evaluate(autoencoder.Files(tmp_path / "wide"), iw_samples=0)
    want = est.evaluate(X, iw_samples=0)
    assert got["pca"].pop("fitted_on") == f"{tmp_path / 'wide'} (3 shards)"
    assert want["pca"].pop("fitted_on") == "X"
    for e in (got, want):
        e["pca"].pop("fit_seconds", None)
    assert "randomi" in str(want["pca"]), want["pca"]
    assert got == want


def test_missing_values_are_filled_as_ae_fills_them(ae, table, tmp_path):
    holes = table.copy()
    holes[3::7, 1] = np.nan
    holes[5::11, 4] = np.nan
    np.save(tmp_path / "x.npy", holes)
    with pytest.raises(ValueError, match=r"row 4, column 2 is nan.*missing=\"mean\""):
        autoencoder.AnomalyDetector(threads=1, min_steps=20).fit(holes)
    det = autoencoder.AnomalyDetector(missing="mean", min_steps=20, threads=1)
    det.fit(holes, source=tmp_path / "x.npy")
    det.save(tmp_path / "py.safetensors")
    ae("train", tmp_path / "x.npy", "--preset", "tabular", "--min-steps", 20, "--threads", 1, "--missing", "mean",
       "--threshold", "contamination=0.1", "-o", tmp_path / "cli.safetensors", "--no-plots", "-q")
    assert (tmp_path / "py.safetensors").read_bytes() == (tmp_path / "cli.safetensors").read_bytes()
    assert det.model_.fills_missing and det.__sklearn_tags__().input_tags.allow_nan
    # `ae score` fills the holes with the model's means, as the Python model does.
    ae("score", tmp_path / "cli.safetensors", tmp_path / "x.npy", "-o", tmp_path / "s.csv", "--threads", 1)
    scores, flags = read_scores(tmp_path / "s.csv")
    assert bits(det.decision_function(holes)) == bits(scores)
    assert det.labels_.tolist() == flags
    with pytest.raises(ValueError, match="expected finite numbers or NaN"):
        det.decision_function(np.where(np.isnan(holes), np.inf, holes))
    with pytest.raises(ValueError, match="missing must be"):
        autoencoder.Autoencoder(missing="skip").fit(table)


@pytest.mark.parametrize("method", ["linear", "unify"])
def test_outlier_probabilities_equal_ae_score_proba(ae, table, tmp_path, method):
    np.save(tmp_path / "x.npy", table)
    det = autoencoder.AnomalyDetector(contamination=0.05, min_steps=40, threads=1).fit(table, source=tmp_path / "x.npy")
    det.save(tmp_path / "m.safetensors")
    ae("score", tmp_path / "m.safetensors", tmp_path / "x.npy", "--proba", method, "--threads", 1, "-o", tmp_path / "s.csv")
    rows = [l.split(",") for l in open(tmp_path / "s.csv").read().splitlines()[1:]]
    p = det.predict_proba(table, method=method)
    assert bits(p[:, 1]) == bits(np.array([float(r[3]) for r in rows]))
    # PyOD's formulas on the training scores.
    train, s = det.decision_scores_, det.decision_function(table)
    if method == "linear":
        want = (s - train.min()) / (train.max() - train.min())
    else:
        from scipy.special import erf
        want = erf((s - train.mean()) / (train.std() * np.sqrt(2)))
    np.testing.assert_allclose(p[:, 1], np.clip(want, 0, 1), rtol=0, atol=1e-12)
    # A model read back from its file gives the same.
    back = autoencoder.Model.load(str(tmp_path / "m.safetensors"))
    assert bits(back.outlier_probability(s, method)) == bits(p[:, 1])


def test_explanations_equal_ae_score_explain(ae, table, tmp_path):
    np.save(tmp_path / "x.npy", table)
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--epochs", 3, "--threads", 1,
       "-o", tmp_path / "m.safetensors", "--no-plots", "-q")
    ae("score", tmp_path / "m.safetensors", tmp_path / "x.npy", "--explain", 2, "--threads", 1,
       "-o", tmp_path / "s.csv")
    rows = [l.split(",") for l in open(tmp_path / "s.csv").read().splitlines()[1:]]
    est = autoencoder.load(tmp_path / "m.safetensors")
    est.set_params(threads=1)
    features, contributions = est.explain(table, k=2)
    assert features.shape == contributions.shape == (len(table), 2)
    assert features.tolist() == [[int(r[2]), int(r[4])] for r in rows]
    assert bits(contributions) == bits(np.array([[float(r[3]), float(r[5])] for r in rows]))
    # All d contributions of a row add up to its score.
    _, every = est.explain(table, k=table.shape[1])
    np.testing.assert_allclose(every.sum(axis=1), est.score_samples(table), rtol=1e-12)
    with pytest.raises(ValueError, match="k is 0"):
        est.explain(table, k=0)


def test_parts_scored_with_their_row_offsets_equal_the_whole(ae, table, tmp_path):
    """Partitions scored as a Spark or Ray worker would (each with its first row's global
    index) give `ae score`'s scores of the whole file, bit for bit, for a variational
    model's elbo score; a part scored as if it began the file does not."""
    np.save(tmp_path / "x.npy", table)
    ae("train", tmp_path / "x.npy", "--layers", "8,3", "--epochs", 2, "--threads", 1, "--variational",
       "-o", tmp_path / "m.safetensors", "--no-plots", "-q")
    ae("score", tmp_path / "m.safetensors", tmp_path / "x.npy", "-o", tmp_path / "s.csv", "--threads", 1)
    whole, _ = read_scores(tmp_path / "s.csv")
    est = autoencoder.load(tmp_path / "m.safetensors")
    cuts = [0, 1, 77, 200, table.shape[0]]
    parts = [est.score_samples(table[a:b], row_offset=a) for a, b in zip(cuts, cuts[1:])]
    assert bits(np.concatenate(parts)) == bits(whole)
    model = est.model_
    kind, scores, _ = model.score(table[77:200], row_offset=77)
    assert kind == "elbo" and bits(scores) == bits(whole[77:200])
    assert not np.any(est.score_samples(table[77:200]) == whole[77:200])
    with pytest.raises(ValueError, match="row_offset"):
        est.score_samples(table, row_offset=-1)
    # Up to 2**62, so that every id fits a 64-bit integer (`ae score --row-offset`'s range).
    assert est.score_samples(table[:2], row_offset=1 << 62).shape == (2,)
    for beyond in ((1 << 62) + 1, 1 << 70):
        with pytest.raises(ValueError, match=r"^row_offset is \d+; expected a row index from 0 to 2\*\*62"):
            est.score_samples(table, row_offset=beyond)
    with pytest.raises(ValueError, match=r"^row_offset is \d+; expected"):
        model.score(table, row_offset=(1 << 62) + 1)


def test_a_saved_model_is_read_by_ae_inspect(ae, table, tmp_path):
    est = autoencoder.Autoencoder(layers=(8, 3), epochs=1).fit(table)
    est.save(tmp_path / "m.safetensors")
    out = ae("inspect", tmp_path / "m.safetensors", "--json").stdout
    import json

    card = json.loads(out)
    assert card["parameters"] == est.model_.parameters
    assert est.model_.describe() in out


def test_threads_do_not_change_the_bits_of_inference(table):
    est = autoencoder.Autoencoder(layers=(8, 3), epochs=1, threads=1).fit(table)
    one = est.transform(table)
    est.set_params(threads=2)
    assert bits(est.transform(table)) == bits(one)
