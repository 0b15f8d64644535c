"""The scikit-learn side: check_estimator, pipelines and grid search, clone and pickle,
dataframes in, clear errors out, callbacks, threads and Ctrl-C."""

import inspect
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import autoencoder
from autoencoder import AnomalyDetector, Autoencoder
from autoencoder._estimator import keyword
from conftest import bits


def small(**kw):
    return Autoencoder(**{"layers": (4, 2), "epochs": 2, "threads": 1, **kw})


# ------------------------------------------------------------------ keywords


def test_every_setting_of_ae_train_is_a_keyword():
    for cls in (Autoencoder, AnomalyDetector):
        params = inspect.signature(cls.__init__).parameters
        missing = [n for n in map(keyword, autoencoder.SETTINGS) if n not in params]
        assert not missing, f"{cls.__name__} lacks {missing}"
        est = cls()
        assert set(map(keyword, autoencoder.SETTINGS)) <= set(est.get_params())


def test_score_kind_is_the_score_setting(table):
    a = small(score_kind="mae", threshold="contamination=0.1").fit(table)
    assert a.model_.score_kind == "mae"
    assert callable(a.score) and a.score(table) < 0


def test_keywords_are_checked_by_the_library_with_their_name(table):
    with pytest.raises(ValueError, match="invalid activation"):
        small(activation="relux").fit(table)
    with pytest.raises(ValueError, match=r"invalid learning rate \(lr\)"):
        small(lr=-1.0).fit(table)
    with pytest.raises(ValueError, match="invalid layers"):
        small(layers="8,,2").fit(table)
    with pytest.raises(ValueError, match="threshold"):
        small(threshold="contamination=2").fit(table)
    with pytest.raises(ValueError, match="contamination"):
        AnomalyDetector(contamination=0.9).fit(table)


def test_numbers_json_cannot_carry_are_refused_with_their_name(table):
    # NaN and infinity reached the core as invalid JSON ("settings: expected value at
    # line 1 column 23"), naming no setting.
    for kw, shown in [({"lr": float("nan")}, "lr"), ({"l2": np.float32("inf")}, "l2"),
                      ({"dropout": -np.inf}, "dropout"), ({"layers": (4, float("nan"))}, "layers")]:
        with pytest.raises(ValueError, match=rf"invalid {shown}: expected a finite number, got -?(nan|inf)"):
            small(**kw).fit(table)


def test_results_past_the_memory_budget_are_refused_before_any_work():
    """A result array that would pass half the machine's memory (a million rows of a
    30,000-wide code: 120 GB) is a ``ValueError``, not a failed allocation that ends the
    interpreter; so is a batch whose activations would, when training."""
    X = np.random.default_rng(0).random((16, 2)).astype(np.float32)
    wide = Autoencoder(layers=(30000,), epochs=1, batch_size=8, threads=1).fit(X)
    many = np.zeros((1_000_000, 2), np.float32)
    with pytest.raises(ValueError, match=r"^the result: 1000000 rows of 30000 values are .* more than the memory budget of .*; pass fewer rows at a time$"):
        wide.transform(many)
    assert wide.transform(X).shape == (16, 30000)
    with pytest.raises(ValueError, match=r"a batch of 1000000 rows through 2-30000-2 takes .* choose a smaller batch size"):
        Autoencoder(layers=(30000,), epochs=1, batch_size=1_000_000, threads=1).fit(many)


def test_paths_may_be_bytes_or_path_objects(table, tmp_path):
    est = small().fit(table)
    est.save(os.fsencode(tmp_path / "m.safetensors"))
    for path in (tmp_path / "m.safetensors", os.fsencode(tmp_path / "m.safetensors")):
        assert autoencoder.load(path).model_.to_bytes() == est.model_.to_bytes()


def test_threads_and_counts_are_whole_numbers_or_a_value_error(table):
    # A negative count was pyo3's OverflowError; a float or text was truncated or parsed.
    for bad in (-1, 1.5, "2"):
        with pytest.raises(ValueError, match=rf"^threads must be a whole number ≥ 0, got {bad!r}$"):
            small(threads=bad).fit(table)
    with pytest.raises(ValueError, match=r"^threads must be a whole number from 0 \(every core\) to 1024, got 2000$"):
        small(threads=2000).fit(table)
    est = small().fit(table)
    with pytest.raises(ValueError, match="threads must be a whole number from 0"):
        est.model_.encode(table, threads=-1)
    with pytest.raises(TypeError, match="cannot be interpreted as an integer\\nwhile processing 'threads'"):
        est.model_.encode(table, threads=1.5)
    with pytest.raises(ValueError, match="threads must be a whole number ≥ 0, got -1"):
        est.set_params(threads=-1).transform(table)
    est.set_params(threads=np.int64(1))
    assert bits(est.transform(table)) == bits(est.model_.encode(table, threads=1))
    with pytest.raises(ValueError, match=r"k must be a whole number ≥ 0, got 1.5"):
        est.explain(table, k=1.5)
    with pytest.raises(ValueError, match=r"iw_samples must be a whole number ≥ 0, got -3"):
        est.evaluate(table, iw_samples=-3)


# --------------------------------------------------------------- scikit-learn


def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    # Every check passes but two. scikit-learn itself skips check_array_api_input unless
    # SCIPY_ARRAY_API=1 is set: inputs from other array libraries (CuPy, torch) are
    # converted to numpy here rather than computed in their namespace. The two sparse
    # checks fit on sparse rows, which works (test_sparse_rows_are_the_dense_rows), then
    # assert that predict gives one value per row; ours gives each row's reconstruction.
    sparse = "predict gives reconstructions, rows × features, where the check expects one value per row"
    expected = {"check_estimator_sparse_array": sparse, "check_estimator_sparse_matrix": sparse}
    results = check_estimator(
        Autoencoder(layers=(3,), epochs=3, threads=1), on_fail=None, expected_failed_checks=expected
    )
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert not failed, failed
    assert skipped <= {"check_array_api_input"}, skipped
    assert xfailed == set(expected), xfailed
    assert len(results) > 40


def test_check_estimator_of_the_detector():
    """The detector passes scikit-learn's checks but the two sparse ones, which fit it
    on sparse rows (that works) and then read ``classifier_tags.multi_class`` to check
    ``predict_proba``: an outlier detector has no classifier tags, so the check itself
    raises AttributeError."""
    from sklearn.utils.estimator_checks import check_estimator

    why = "the check reads classifier tags, which an outlier detector with predict_proba has none of"
    expected = {"check_estimator_sparse_array": why, "check_estimator_sparse_matrix": why}
    results = check_estimator(
        AnomalyDetector(layers=(3,), epochs=3, threads=1), on_fail=None, expected_failed_checks=expected
    )
    failed = [(r["check_name"], str(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed, failed
    assert {r["check_name"] for r in results if r["status"] == "xfail"} == set(expected)
    assert {r["check_name"] for r in results if r["status"] == "skipped"} <= {"check_array_api_input"}


def test_in_a_pipeline_and_a_grid_search(table):
    pipe = Pipeline([("scale", StandardScaler()), ("ae", small())])
    codes = pipe.fit_transform(table)
    assert codes.shape == (240, 2)
    grid = GridSearchCV(small(), {"layers": [(4, 2), (4, 3)]}, cv=2).fit(table)
    assert grid.best_params_["layers"] in [(4, 2), (4, 3)]
    assert grid.best_estimator_.transform(table).shape[1] == grid.best_params_["layers"][-1]


def test_clone_and_pickle(table):
    est = small(seed=3).fit(table)
    fresh = clone(est)
    assert not hasattr(fresh, "model_") and fresh.get_params() == est.get_params()
    back = pickle.loads(pickle.dumps(est))
    assert back.model_.to_bytes() == est.model_.to_bytes()
    assert bits(back.transform(table)) == bits(est.transform(table))
    # Fitting the clone gives the same model: same seed, same threads.
    assert fresh.fit(table).model_.to_bytes() == est.model_.to_bytes()


def test_history_and_attributes(table):
    est = Autoencoder(layers=(4, 2), epochs=3, validation_split=0.25, threads=1).fit(table)
    assert len(est.history_["loss"]) == 3 and len(est.history_["val_loss"]) == 3
    assert est.n_features_in_ == 6
    assert est.stop_reason_ == "epoch_limit"


# ------------------------------------------------------------------ inputs


def test_dataframes_in_numpy_out(table):
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    cols = [f"f{i}" for i in range(6)]
    ref = small().fit(table)
    expected = bits(ref.transform(table))
    for frame in (pd.DataFrame(table, columns=cols), pl.DataFrame(table, schema=cols), pa.table({c: table[:, i] for i, c in enumerate(cols)})):
        est = small().fit(frame)
        assert est.model_.to_bytes() == ref.model_.to_bytes(), type(frame)
        out = est.transform(frame)
        assert isinstance(out, np.ndarray) and bits(out) == expected
    assert list(small().fit(pd.DataFrame(table, columns=cols)).feature_names_in_) == cols
    # Other dtypes and orders are converted: float64, Fortran order, integers.
    assert bits(ref.transform(np.asfortranarray(table.astype(np.float64)))) == expected
    ints = np.arange(60, dtype=np.int64).reshape(10, 6)
    assert bits(ref.transform(ints)) == bits(ref.transform(ints.astype(np.float32)))


def test_nullable_pandas_columns_hold_missing_values(table):
    """pandas' nullable dtypes (Int64, Float64, boolean) read as their values, and a
    pd.NA as a missing value: refused as a NaN is, filled under missing="mean" as the
    NaN would be (it was a TypeError about 'NAType')."""
    pd = pytest.importorskip("pandas")
    cols = [f"f{i}" for i in range(6)]
    plain = pd.DataFrame(table, columns=cols)
    plain["f0"] = np.round(plain["f0"] * 10)
    plain["f1"] = (plain["f1"] > 0).astype(np.float32)
    plain.loc[3, "f0"] = np.nan
    nullable = plain.astype({"f0": "Int64", "f1": "boolean", "f2": "Float64"})
    assert nullable["f0"].isna()[3] and nullable.to_numpy().dtype == object
    with pytest.raises(ValueError, match="row 4, column 1 is nan.*missing value"):
        small().fit(nullable)
    est = small(missing="mean").fit(nullable)
    assert est.model_.to_bytes() == small(missing="mean").fit(plain).model_.to_bytes()
    assert bits(est.transform(nullable)) == bits(est.transform(plain.to_numpy()))


def test_object_columns_of_numbers_are_their_values(table):
    """A pandas `object` column of Python numbers (what a column becomes once it held a
    None, or when built from lists) reads as its values, None a missing value (it was
    refused as "not numeric"); an object column of text is still refused by name."""
    pd = pytest.importorskip("pandas")
    cols = [f"f{i}" for i in range(6)]
    plain = pd.DataFrame(table, columns=cols)
    objects = plain.astype({"f0": object, "f3": object})
    objects["f5"] = pd.Series([int(v > 0.5) for v in table[:, 5]], dtype=object)
    plain["f5"] = (table[:, 5] > 0.5).astype(np.float32)
    assert objects["f0"].dtype == object
    ref = small().fit(plain)
    assert small().fit(objects).model_.to_bytes() == ref.model_.to_bytes()
    assert bits(ref.transform(objects)) == bits(ref.transform(plain))
    objects.loc[2, "f3"] = None
    with pytest.raises(ValueError, match="row 3, column 4 is nan.*missing value"):
        small().fit(objects)
    objects["f1"] = pd.Series(["red", "blue"] * (len(objects) // 2) + ["red"] * (len(objects) % 2), dtype=object)
    with pytest.raises(ValueError, match="column 'f1' is object, not numeric"):
        small().fit(objects)


def test_categorical_and_dictionary_columns_of_numbers_are_their_values(table):
    """A pandas `category` column of numbers and a pyarrow dictionary-encoded one (how
    pandas' categories reach Parquet) give the bits of the plain column."""
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    cols = [f"f{i}" for i in range(6)]
    ref = small().fit(table)
    expected = bits(ref.transform(table))
    df = pd.DataFrame(table, columns=cols)
    df["f0"] = df["f0"].astype("category")
    assert isinstance(df.dtypes["f0"], pd.CategoricalDtype)
    t = pa.table({c: table[:, i] for i, c in enumerate(cols)})
    t = t.set_column(0, "f0", t.column("f0").dictionary_encode())
    assert pa.types.is_dictionary(t.schema.field("f0").type)
    for frame in (df, t):
        assert bits(ref.transform(frame)) == expected, type(frame)
        assert small().fit(frame).model_.to_bytes() == ref.model_.to_bytes(), type(frame)
    # Categories of text are still not numbers: the column is named.
    df["f1"] = pd.Categorical(["a", "b"] * (len(df) // 2) + ["a"] * (len(df) % 2))
    with pytest.raises(ValueError, match="column 'f1'"):
        small().fit(df)


def test_f32_c_contiguous_rows_are_not_copied(table):
    from autoencoder._convert import as_rows

    rows, _ = as_rows(table)
    assert rows is table


def test_a_non_numeric_column_is_named(table):
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    df = pd.DataFrame(table[:, :2], columns=["a", "b"])
    df["city"] = "Oslo"
    with pytest.raises(ValueError, match="column 'city'"):
        small().fit(df)
    with pytest.raises(ValueError, match="column 'city'"):
        small().fit(pl.from_pandas(df))
    with pytest.raises(ValueError, match="column 'city'"):
        small().fit(pa.Table.from_pandas(df))


@pytest.mark.parametrize(
    "bad, message",
    [
        ("nan", r"row 3, column 2 is nan"),
        ("inf", r"row 3, column 2 is inf"),
        ("strings", r'row 1, column 1: "a" is not a number'),
        ("3-D", "expected a 2-D array"),
        ("1-D", "expected a 2-D array"),
        ("empty", r"0 sample\(s\)"),
    ],
)
def test_bad_arrays_raise_value_error_and_write_nothing(table, tmp_path, monkeypatch, bad, message):
    X = table.copy()
    if bad in ("nan", "inf"):
        X[2, 1] = np.nan if bad == "nan" else np.inf
    elif bad == "strings":
        X = np.array([["a", "b"], ["c", "d"]])
    elif bad == "3-D":
        X = table.reshape(240, 2, 3)
    elif bad == "1-D":
        X = table[:, 0]
    elif bad == "empty":
        X = table[:0]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message):
        small().fit(X)
    fitted = small().fit(table)
    with pytest.raises(ValueError, match=message):
        fitted.transform(X)
    assert list(tmp_path.iterdir()) == []


def test_a_series_or_a_lazy_frame_is_a_value_error(table):
    """A pandas Series (one column, or one row) is 1-D, as scikit-learn says of it; a
    polars LazyFrame is a query to collect first. Both raised AttributeError."""
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    frame = pd.DataFrame(table, columns=[f"f{i}" for i in range(6)])
    est = small().fit(frame)
    for series in (frame["f0"], frame.iloc[0]):
        with pytest.raises(ValueError, match="expected a 2-D array"):
            est.transform(series)
        with pytest.raises(ValueError, match="expected a 2-D array"):
            small().fit(series)
    lazy = pl.from_pandas(frame).lazy()
    with pytest.raises(ValueError, match=r"LazyFrame .* collect\(\) it first"):
        small().fit(lazy)
    with pytest.raises(ValueError, match=r"LazyFrame .* collect\(\) it first"):
        est.transform(lazy)
    assert bits(est.transform(lazy.collect())) == bits(est.transform(frame))


def test_codes_are_named_and_set_output_gives_dataframes(table):
    """get_feature_names_out names the codes as PCA names its components, so that
    set_output(transform="pandas") works, in a Pipeline too, keeping the index."""
    pd = pytest.importorskip("pandas")
    with pytest.raises(NotFittedError):
        small().get_feature_names_out()
    frame = pd.DataFrame(table, columns=[f"f{i}" for i in range(6)], index=range(100, 340))
    est = small().fit(frame)
    assert est.get_feature_names_out().tolist() == ["autoencoder0", "autoencoder1"]
    assert AnomalyDetector(layers=(4, 3), epochs=1, threads=1).fit(table).get_feature_names_out().tolist() == [
        "anomalydetector0",
        "anomalydetector1",
        "anomalydetector2",
    ]
    est.set_output(transform="pandas")
    codes = est.transform(frame)
    assert isinstance(codes, pd.DataFrame) and list(codes.index) == list(frame.index)
    assert bits(codes.to_numpy()) == bits(small().fit(frame).transform(frame))
    pipe = Pipeline([("scale", StandardScaler()), ("ae", small())]).set_output(transform="pandas")
    out = pipe.fit_transform(frame)
    assert out.columns.tolist() == ["autoencoder0", "autoencoder1"] and list(out.index) == list(frame.index)
    assert pipe.get_feature_names_out().tolist() == ["autoencoder0", "autoencoder1"]


def test_a_wrong_width_is_refused(table):
    est = small().fit(table)
    with pytest.raises(ValueError, match="X has 5 features, but Autoencoder is expecting 6 features as input"):
        est.predict(table[:, :5])
    with pytest.raises(ValueError, match="expecting 2 features"):
        est.inverse_transform(np.zeros((3, 5), dtype=np.float32))


def test_errors_are_the_python_exceptions_a_user_expects(table, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        autoencoder.load(tmp_path / "nothing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="junk.safetensors"):
        autoencoder.load(tmp_path / "junk.safetensors")
    with pytest.raises(RuntimeError, match="diverged"):
        Autoencoder(layers=(4, 2), epochs=5, optimizer="sgd", lr=1e12, threads=1).fit(table * 1e3)


# ------------------------------------------------------------------ behaviour


def test_callback_sees_every_epoch_and_can_stop(table):
    seen = []
    Autoencoder(layers=(4, 2), epochs=3, threads=1, callback=lambda e, logs: seen.append((e, logs["loss"]))).fit(table)
    assert [e for e, _ in seen] == [1, 2, 3]
    est = Autoencoder(layers=(4, 2), epochs=9, threads=1, callback=lambda e, logs: e < 2).fit(table)
    assert len(est.history_["loss"]) == 2 and est.stop_reason_ == "interrupted"

    def boom(epoch, logs):
        raise ZeroDivisionError("from the callback")

    est = small(callback=boom)
    with pytest.raises(ZeroDivisionError, match="from the callback"):
        est.fit(table)
    assert not hasattr(est, "model_")


def test_verbose_draws_progress(table, capsys):
    small(verbose=1).fit(table)
    err = capsys.readouterr().err
    assert "epoch" in err or "training" in err


def big_table(rows=20000, cols=64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(rows, cols)).astype(np.float32)


def test_the_gil_is_released_while_training():
    X = big_table()
    # About half a second of training: long enough that the loop below runs hundreds of
    # times when the GIL is free, and about once when it is held.
    est = Autoencoder(layers=(64, 16), epochs=30, threads=1)
    ticks = 0
    t = threading.Thread(target=est.fit, args=(X,))
    t.start()
    while t.is_alive():
        ticks += 1
        time.sleep(0.001)
    t.join()
    # With the GIL held for the whole fit, this loop would have run about once.
    assert ticks > 20, ticks
    assert hasattr(est, "model_")


def test_two_threads_train_two_models_at_once():
    X = big_table()
    make = lambda seed: Autoencoder(layers=(64, 16), epochs=40, threads=1, seed=seed)
    a, b = make(1).fit(X), make(2).fit(X)
    ests = [make(1), make(2)]
    threads = [threading.Thread(target=e.fit, args=(X,)) for e in ests]
    for t in threads:
        t.start()
    # While both fits run, this thread runs Python: the fits hold no GIL. (Were it held
    # for a fit's whole call, this loop would be stalled until both ended and count
    # only the few turns before they started and after.) Counted, not timed, so that a
    # busy machine slows both sides alike.
    turns_during = 0
    while any(t.is_alive() for t in threads):
        turns_during += 1
    for t in threads:
        t.join()
    print(f"this thread's turns while the fits ran: {turns_during}")
    assert turns_during > 100_000, turns_during
    # The same models, at once or not.
    assert ests[0].model_.to_bytes() == a.model_.to_bytes() and ests[1].model_.to_bytes() == b.model_.to_bytes()


def test_ctrl_c_raises_keyboard_interrupt_within_a_batch_and_leaves_it_unfitted(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time, numpy as np, autoencoder
        X = np.random.default_rng(0).normal(size=(20000, 64)).astype(np.float32)
        est = autoencoder.Autoencoder(layers=(64, 16), epochs=1000, threads=1)
        print("start", flush=True)
        try:
            est.fit(X)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), hasattr(est, "model_"), flush=True)
        """
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(1.0)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    word, at, fitted = out.split()
    assert word == "interrupted" and fitted == "False"
    assert float(at) - sent < 1.0, f"took {float(at) - sent:.2f} s"


def test_a_row_whose_score_overflows_is_an_outlier(table):
    """A row so far outside the training range that its reconstruction overflows scores
    NaN: predict flags it and predict_proba gives it 1, as ae detect and ae score --proba."""
    det = autoencoder.AnomalyDetector(contamination=0.05, min_steps=20, threads=1).fit(table)
    x = np.vstack([np.full((1, table.shape[1]), 3e38, dtype=np.float32), table[10:11]])
    s = det.decision_function(x)
    assert np.isnan(s[0]) and np.isfinite(s[1])
    assert det.predict(x)[0] == 1
    assert det.predict_proba(x, method="unify")[0, 1] == 1.0
    assert det.labels_.tolist() == det.predict(table).tolist()


def test_sparse_rows_are_the_dense_rows(table):
    """A scipy sparse matrix (or array) is read as the dense rows of its values: the
    model fitted on it, and its codes and scores, are those of the dense array, bit
    for bit. One whose dense rows would pass the memory budget is refused first."""
    sp = pytest.importorskip("scipy.sparse")
    from autoencoder._convert import dense_of_sparse

    X = np.where(table > np.median(table), table, 0).astype(np.float64)
    dense = small().fit(X)
    kinds = [sp.csr_matrix, sp.csr_array, sp.coo_matrix, sp.csc_array, sp.dok_array, sp.lil_matrix, sp.bsr_array]
    for kind in kinds:
        S = kind(X)
        if hasattr(S, "indices"):
            S.indices = S.indices.astype(np.int64)  # scikit-learn's "large" sparse matrices
        fitted = small().fit(S)
        assert fitted.model_.to_bytes() == dense.model_.to_bytes(), kind.__name__
        assert fitted.transform(S).tobytes() == dense.transform(X).tobytes(), kind.__name__
        assert fitted.score_samples(S).tobytes() == dense.score_samples(X).tobytes(), kind.__name__
    with pytest.raises(ValueError, match=r"X: a sparse matrix of 240 × 6 is 5.6 KiB as the dense float32 rows .* memory budget of 1.0 KiB"):
        dense_of_sparse(sp.csr_matrix(X), budget=1024)
    with pytest.raises(ValueError, match="dtype complex128"):
        small().fit(sp.csr_matrix(X.astype(complex)))
