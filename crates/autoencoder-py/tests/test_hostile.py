"""Hostile and odd inputs, each refused with a one-line error naming the argument (or
taken as a user would expect), never read wrongly, never losing a file or a model."""

import decimal
import fractions

import numpy as np
import pandas as pd
import pytest

import autoencoder
from autoencoder import AnomalyDetector, Autoencoder, Files
from conftest import bits


def small(**kw):
    return Autoencoder(**{"layers": (4, 2), "epochs": 2, "threads": 1, **kw})


# ------------------------------------------------------------------ files


def test_a_checkpoint_never_replaces_the_rows_it_trains_on(table, tmp_path):
    """As ``ae train`` refuses it: the checkpoint over the training or validation
    file (by any spelling) is refused before any epoch, and the file is untouched."""
    np.save(tmp_path / "x.npy", table)
    np.save(tmp_path / "v.npy", table[:40])
    before = {n: (tmp_path / n).read_bytes() for n in ("x.npy", "v.npy")}
    with pytest.raises(ValueError, match=r"refusing to write checkpoint over X .*x\.npy, which this run reads"):
        small().fit(tmp_path / "x.npy", checkpoint=tmp_path / "x.npy")
    with pytest.raises(ValueError, match=r"refusing to write checkpoint over validation_data"):
        small().fit(tmp_path / "x.npy", validation_data=Files(tmp_path / "v.npy"), checkpoint=tmp_path / "v.npy")
    with pytest.raises(ValueError, match=r"refusing to write checkpoint over validation_data"):
        small().fit(table, validation_data=str(tmp_path / "." / "v.npy"), checkpoint=tmp_path / "v.npy")
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    # Another path is written.
    small().fit(table, validation_data=tmp_path / "v.npy", checkpoint=tmp_path / "c.ckpt")
    assert (tmp_path / "c.ckpt").stat().st_size > 0


def test_a_list_of_paths_is_files(table, tmp_path):
    parts = [tmp_path / "a.npy", tmp_path / "b.npy"]
    np.save(parts[0], table[:100])
    np.save(parts[1], table[100:])
    listed = small(seed=3).fit([str(p) for p in parts])
    files = small(seed=3).fit(Files(parts))
    assert bits(listed.transform(table)) == bits(files.transform(table))
    assert bits(listed.transform(parts)) == bits(files.transform(table))


def test_a_bad_memory_budget_is_refused_when_files_are_made(tmp_path):
    for bad in ("lots", "-1G"):
        with pytest.raises(ValueError, match="memory_budget"):
            Files(tmp_path / "x.npy", memory_budget=bad)


# ------------------------------------------------------------------ arrays


def test_model_methods_refuse_arrays_whose_memory_is_not_their_rows(table):
    """A Fortran-ordered array was read as if its memory were rows: other codes, no
    error. The estimator's methods convert it; the model's say what to do."""
    est = small().fit(table)
    fortran = np.asfortranarray(table)
    assert bits(est.transform(fortran)) == bits(est.transform(table))
    for bad in (fortran, table[::2], table.T.copy().T):
        with pytest.raises(ValueError, match=r"^expected rows in C order, aligned, got an array that is not C-contiguous"):
            est.model_.encode(bad)
    # pyo3 names the argument on a line of its own.
    with pytest.raises(TypeError, match=r"^expected float32 values in native byte order, got float64 .*\nwhile processing 'x'$"):
        est.model_.encode(table.astype(np.float64))
    with pytest.raises(TypeError, match=r"^expected a 2-D float32 array \(rows × features\), got one of 1 dimensions"):
        est.model_.encode(table[0])
    with pytest.raises(TypeError, match=r"^expected a 2-D float32 numpy array \(rows × features\), got list"):
        est.model_.encode(table.tolist())
    with pytest.raises(TypeError, match=r"got >f4 .*\nwhile processing 'z'$"):
        est.model_.decode(np.zeros((2, 2), dtype=">f4"))


def test_unaligned_rows_are_read_as_aligned_ones(table):
    est = small().fit(table)
    buf = bytearray(table.nbytes + 1)
    buf[1:] = table.tobytes()
    unaligned = np.frombuffer(buf, np.float32, offset=1).reshape(table.shape)
    assert unaligned.flags.c_contiguous and not unaligned.flags.aligned
    assert bits(est.transform(unaligned)) == bits(est.transform(table))
    with pytest.raises(ValueError, match="not aligned"):
        est.model_.encode(unaligned)


def test_model_methods_refuse_values_that_are_not_numbers(table):
    est = small().fit(table)
    bad = table[:3].copy()
    bad[1, 2] = np.nan
    for call in (est.model_.encode, est.model_.reconstruct):
        with pytest.raises(ValueError, match=r"^X: row 2, column 3 is NaN; the data must be finite numbers"):
            call(bad)
    codes = est.model_.encode(table[:3])
    codes[0, 1] = np.inf
    with pytest.raises(ValueError, match=r"^Z: row 1, column 2 is inf"):
        est.model_.decode(codes)
    with pytest.raises(ValueError, match=r"^a: row 1, column 3 is NaN"):
        est.model_.interpolate(bad[1], table[0], 3)
    with pytest.raises(ValueError, match=r"^a: row 1, column 3 is nan; expected finite numbers"):
        est.interpolate(bad[1], table[0])
    with pytest.raises(ValueError, match=r"^b: row 1, column 1: \"abc\" is not a number"):
        est.interpolate(table[0], "abc")
    # A model that fills missing values fills them here too, as it does in transform.
    filled = small(missing="mean").fit(table)
    assert bits(filled.model_.encode(bad)) == bits(filled.transform(bad))


def test_a_number_past_float32_is_named_so(table):
    big = table.astype(np.float64)
    big[4, 1] = 1e300
    with pytest.raises(ValueError, match=r"^X: row 5, column 2 is 1e\+300, too large for a 32-bit float"):
        small().fit(big)


def test_images_of_another_shape_are_refused(images):
    conv = Autoencoder(arch="conv", channels=(4,), layers=(3,), epochs=1, batch_size=16, threads=1).fit(images)
    with pytest.raises(ValueError, match=r"X holds images of \(1, 4, 16\) \(channels, height, width\), but the model takes \(1, 8, 8\)"):
        conv.transform(images.reshape(-1, 1, 4, 16))
    with pytest.raises(ValueError, match=r"but image_shape is \(1, 4, 16\)"):
        Autoencoder(arch="conv", image_shape=(1, 4, 16), epochs=1).fit(images)


# ------------------------------------------------------------------ keywords


def test_keywords_of_the_wrong_kind_are_named(table):
    fitted = small().fit(table)
    for est, match in (
        (small(threads=2**64), r"^threads must be a whole number below 2\*\*63"),
        (small(image_shape=(-1, 2, 3)), r"^image_shape must be \(channels, height, width\), three whole numbers ≥ 1"),
        (small(image_shape=(2, 3)), r"^image_shape must be"),
        (small(threshold=5), r"^threshold must be a rule as text"),
        (small(categorical=1.5), r"^categorical must be a column name"),
        (small(lr=object()), r"^invalid lr: expected a number, text, switch or list"),
        (small(seed=2**64), r"^invalid seed: expected a whole number from 0 to 18446744073709551615"),
    ):
        with pytest.raises(ValueError, match=match):
            est.fit(table)
    with pytest.raises(TypeError, match=r"^callback must be a function of \(epoch, logs\), got int"):
        small(callback=5).fit(table)
    with pytest.raises(ValueError, match=r"^kind must be a score's name"):
        fitted.score_samples(table, kind=5)
    with pytest.raises(ValueError, match=r"^steps must be a whole number below 2\*\*63"):
        fitted.traverse(steps=2**64)
    with pytest.raises(ValueError, match=r"^dims must be at most the code's 2 dimensions, got 1000000000"):
        fitted.traverse(dims=10**9)
    for r in (1e300, 1e-300):
        with pytest.raises(ValueError, match=r"^range must be a number of standard deviations above 0 that a 32-bit float holds"):
            fitted.traverse(range=r)
    with pytest.raises(ValueError, match=r"dims: 1000000000: the code has 2 dimensions"):
        fitted.model_.traverse(10**9, 9, 3.0)


def test_decimal_and_fraction_settings_are_their_numbers(table):
    want = bits(small(lr=0.01, seed=1).fit(table).transform(table))
    assert bits(small(lr=decimal.Decimal("0.01"), seed=1).fit(table).transform(table)) == want
    assert bits(small(lr=fractions.Fraction(1, 100), seed=1).fit(table).transform(table)) == want


def test_a_false_value_from_the_callback_stops(table):
    est = small(epochs=5, callback=lambda e, logs: np.float64(logs["loss"]) > 1e9).fit(table)
    assert (len(est.history_["loss"]), est.stop_reason_) == (1, "interrupted")


def test_contamination_of_a_half_is_pyods_range(table):
    det = AnomalyDetector(layers=(4, 2), epochs=1, threads=1, contamination=0.5).fit(table)
    assert det.labels_.sum() in range(len(table) // 2 - 2, len(table) // 2 + 3)


# ------------------------------------------------------------------ state


def test_a_refused_fit_leaves_the_fitted_model(table):
    est = small(warm_start=True).fit(table)
    codes = est.transform(table)
    with pytest.raises(ValueError, match="input_dim"):
        est.fit(table[:, :4])
    assert bits(est.transform(table)) == bits(codes)
    # A refit that diverges, too.
    with pytest.raises(RuntimeError, match="diverged"):
        est.set_params(warm_start=False, lr=1e300, epochs=1, batch_size=len(table)).fit(table)
    assert bits(est.transform(table)) == bits(codes)


def test_divergence_on_an_epochs_last_step_is_divergence(table):
    """Weights made non-finite by the last step were found only by the codec after
    training, as a message about codes."""
    with pytest.raises(RuntimeError, match=r"training diverged at epoch 1, batch 1"):
        Autoencoder(layers=(8, 3), epochs=1, batch_size=len(table), lr=1e300, threads=1).fit(table)


# ------------------------------------------------------------------ frames


def test_feature_names_that_differ_are_named(table):
    df = pd.DataFrame(table, columns=list("abcdef"))
    est = small().fit(df)
    with pytest.raises(ValueError, match=r"should match those that were passed during fit: missing 'c'; not seen in fit: 'z'"):
        est.transform(df.rename(columns={"c": "z"}))
    with pytest.raises(ValueError, match=r"column 1 is 'b' where fit had 'a' \(the same names in another order\)"):
        est.transform(df[list("bacdef")])


def test_a_row_whose_category_is_missing_alone_is_read(table):
    df = pd.DataFrame(table[:, :3], columns=list("abc"))
    df["city"] = ["Oslo", "Lima", None, "Pune"] * 60
    est = small(categorical="city").fit(df)
    one = df.iloc[[2]].copy()
    one["city"] = pd.Series([None], index=one.index, dtype=object)
    assert bits(est.transform(one)) == bits(est.transform(df.iloc[[2, 3]])[:1])


def test_an_integer_past_any_float_is_named(table):
    X = table[:3].astype(object)
    X[2, 4] = 10**400
    with pytest.raises(ValueError, match=r"^X: row 3, column 5 is an integer too large for a 32-bit float"):
        small().fit(X)


def test_binarising_takes_probabilities_alone(table):
    """Values outside [0, 1] were clamped into probabilities in silence."""
    with pytest.raises(ValueError, match=r"binarize \(each value the probability of a 1\) needs values in \[0, 1\]"):
        small(binarize=True).fit(table)
    est = small().fit(table)
    with pytest.raises(ValueError, match=r"^X: row 1, column 1 is 6.00\d*; binarising draws each value as the probability of a 1"):
        est.evaluate(table, binarize=0)
