"""`Files`: table files the library reads as `ae train` reads them, whole or streamed a
window at a time, give `ae train`'s model bytes; refusals name what is wrong."""

import numpy as np
import pytest

import autoencoder
from autoencoder import Files

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

#: What streamed training reserves besides its window (`train::stream`'s RESERVE).
RESERVE = 128 << 20
GROUP = 50


def budget_for(window_rows, cols, largest_part=GROUP):
    """The memory budget whose window holds `window_rows` rows of `cols` features
    (`train::window_rows`: the reserve, three reads of the largest part, 4 bytes a
    value and 8 for the row's place)."""
    return RESERVE + 3 * largest_part * cols * 4 + window_rows * (cols * 4 + 8)


def write_parquet(path, X, label=None):
    cols = {f"f{j}": X[:, j] for j in range(X.shape[1])}
    if label is not None:
        cols["label"] = label
    pq.write_table(pa.table(cols), path, row_group_size=GROUP)


@pytest.fixture
def rows():
    """600 rows of 5 correlated features with a label column."""
    rng = np.random.default_rng(11)
    z = rng.normal(size=(600, 2))
    X = np.column_stack([z[:, 0], z[:, 1], z[:, 0] + z[:, 1], z[:, 0] - 0.5 * z[:, 1], rng.normal(size=600)])
    y = (rng.random(600) < 0.05).astype(np.int64)
    return X.astype(np.float32), y


SETTINGS = dict(layers=(8, 2), epochs=3, batch_size=32, seed=4, threads=1)
FLAGS = ["--layers", "8,2", "--epochs", 3, "--batch-size", 32, "--seed", 4, "--threads", 1, "--no-plots", "-q"]


def fitted_bytes(est, path):
    est.save(path)
    return path.read_bytes()


def test_files_read_whole_give_ae_trains_model(ae, rows, tmp_path):
    X, y = rows
    write_parquet(tmp_path / "t.parquet", X, y)
    est = autoencoder.Autoencoder(**SETTINGS).fit(Files(tmp_path / "t.parquet", label_column="label", stream=False))
    ae("train", tmp_path / "t.parquet", "--label-column", "label", *FLAGS, "-o", tmp_path / "cli.safetensors")
    assert fitted_bytes(est, tmp_path / "py.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    assert est.n_features_in_ == 5
    assert list(est.feature_names_in_) == [f"f{j}" for j in range(5)]
    assert not hasattr(est, "streamed_")
    # A path alone is Files of it; every column is then a feature.
    np.save(tmp_path / "x.npy", X)
    est.fit(str(tmp_path / "x.npy"))
    ae("train", tmp_path / "x.npy", *FLAGS, "-o", tmp_path / "npy.safetensors")
    assert fitted_bytes(est, tmp_path / "py2.safetensors") == (tmp_path / "npy.safetensors").read_bytes()
    # The rows are those of the array: inference reads the files whole.
    by_array = autoencoder.Autoencoder(**SETTINGS).fit(X, source=tmp_path / "x.npy")
    assert fitted_bytes(by_array, tmp_path / "arr.safetensors") == (tmp_path / "npy.safetensors").read_bytes()
    assert np.array_equal(est.transform(tmp_path / "x.npy"), est.transform(X))
    assert np.array_equal(est.transform(Files(tmp_path / "t.parquet", label_column="label")), est.transform(X))
    assert np.array_equal(Files(tmp_path / "t.parquet", ignore_columns="label").read(), X)


def test_streamed_files_give_ae_train_streams_model(ae, rows, tmp_path):
    X, y = rows
    write_parquet(tmp_path / "t.parquet", X, y)
    budget = budget_for(200, 5)
    files = Files(tmp_path / "t.parquet", label_column="label", stream=True, memory_budget=budget)
    seen = []
    est = autoencoder.Autoencoder(**SETTINGS, callback=lambda epoch, logs: seen.append(epoch)).fit(files)
    assert est.streamed_ == {"rows": 600, "window_rows": 200}
    assert seen == [1, 2, 3]
    ae("train", tmp_path / "t.parquet", "--label-column", "label", "--stream", "--memory-budget", budget, *FLAGS,
       "-o", tmp_path / "cli.safetensors")
    streamed = fitted_bytes(est, tmp_path / "py.safetensors")
    assert streamed == (tmp_path / "cli.safetensors").read_bytes()
    # Windows of 200 of the 600 rows shuffle otherwise than the rows read whole...
    whole = autoencoder.Autoencoder(**SETTINGS).fit(Files(tmp_path / "t.parquet", label_column="label", stream=False))
    assert fitted_bytes(whole, tmp_path / "whole.safetensors") != streamed
    # ...and a window that holds every row gives the rows read whole.
    every = Files(tmp_path / "t.parquet", label_column="label", stream=True, memory_budget=budget_for(600, 5))
    one_window = autoencoder.Autoencoder(**SETTINGS).fit(every)
    assert one_window.streamed_["window_rows"] >= 600
    assert fitted_bytes(one_window, tmp_path / "one.safetensors") == (tmp_path / "whole.safetensors").read_bytes()


def test_a_streamed_detector_is_ae_train_stream_threshold(ae, rows, tmp_path):
    X, y = rows
    write_parquet(tmp_path / "t.parquet", X, y)
    budget = budget_for(250, 5)
    det = autoencoder.AnomalyDetector(contamination=0.05, layers=(8, 2), epochs=2, seed=3, threads=1)
    det.fit(Files(tmp_path / "t.parquet", label_column="label", stream=True, memory_budget=budget))
    ae("train", tmp_path / "t.parquet", "--label-column", "label", "--stream", "--memory-budget", budget,
       "--preset", "tabular", "--layers", "8,2", "--epochs", 2, "--seed", 3, "--threads", 1,
       "--threshold", "contamination=0.05", "--no-plots", "-q", "-o", tmp_path / "cli.safetensors")
    assert fitted_bytes(det, tmp_path / "py.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    # The training rows are scored a part at a time: the scores of the rows whole.
    assert det.threshold_ == det.model_.threshold
    assert np.array_equal(det.decision_scores_, det.decision_function(X))
    assert det.labels_.tolist() == det.predict(X).tolist()
    # Read whole, the training rows are scored, once read.
    det.fit(Files(tmp_path / "t.parquet", label_column="label"))
    assert np.array_equal(det.decision_scores_, det.decision_function(X))
    assert det.labels_.tolist() == det.predict(X).tolist()


def test_files_are_scored_a_part_at_a_time_as_ae_score(ae, rows, tmp_path):
    """Scores of files (row groups of 50 rows), each row at its index: an elbo score's
    samples, drawn at the row's index, are those of the rows scored whole, and of
    ``ae score``."""
    X, y = rows
    write_parquet(tmp_path / "t.parquet", X, y)
    files = Files(tmp_path / "t.parquet", label_column="label")
    vae = autoencoder.Autoencoder(layers=(8, 2), variational=True, epochs=2, seed=1, threads=1).fit(X)
    scores = vae.score_samples(files)
    assert np.array_equal(scores, vae.score_samples(X))
    vae.save(tmp_path / "vae.safetensors")
    ae("score", tmp_path / "vae.safetensors", tmp_path / "t.parquet", "--label-column", "label",
       "-o", tmp_path / "s.csv", "--threads", 1)
    lines = (tmp_path / "s.csv").read_text().split("\n")[1:]
    assert [float(l.split(",")[1]) for l in lines if l] == scores.tolist()
    with pytest.raises(ValueError, match="row_offset is for arrays"):
        vae.score_samples(files, row_offset=10)
    with pytest.raises(ValueError, match="the model has no threshold"):
        vae.detect(files)
    with pytest.raises(ValueError, match="rows have 6 values, but the model was trained on rows of 5"):
        vae.score_samples(Files(tmp_path / "t.parquet"))


def test_files_are_encoded_a_part_at_a_time_as_ae_encode(ae, rows, tmp_path):
    """Codes of files (row groups of 50 rows) read a part at a time: the codes of the
    rows read whole, and the bytes of ``ae encode --stream``'s NPY."""
    X, y = rows
    write_parquet(tmp_path / "t.parquet", X, y)
    files = Files(tmp_path / "t.parquet", label_column="label")
    est = autoencoder.Autoencoder(**SETTINGS).fit(X)
    codes = est.transform(files)
    assert codes.dtype == np.float32 and codes.shape == (600, 2)
    assert np.array_equal(codes, est.transform(X))
    est.save(tmp_path / "m.safetensors")
    ae("encode", tmp_path / "m.safetensors", tmp_path / "t.parquet", "--label-column", "label", "--stream",
       "-o", tmp_path / "z.npy", "--threads", 1)
    assert np.array_equal(np.load(tmp_path / "z.npy"), codes)
    with pytest.raises(ValueError, match="rows have 6 values, but the model was trained on rows of 5"):
        est.transform(Files(tmp_path / "t.parquet"))


def test_validation_files_are_ae_train_validation(ae, rows, tmp_path):
    X, _ = rows
    np.save(tmp_path / "x.npy", X[:500])
    np.save(tmp_path / "v.npy", X[500:])
    est = autoencoder.Autoencoder(**SETTINGS).fit(tmp_path / "x.npy", validation_data=Files(tmp_path / "v.npy"))
    ae("train", tmp_path / "x.npy", "--validation", tmp_path / "v.npy", *FLAGS, "-o", tmp_path / "cli.safetensors")
    assert fitted_bytes(est, tmp_path / "py.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    assert len(est.history_["val_loss"]) == 3


def test_shards_are_one_table(rows, tmp_path):
    """A folder, a glob and a list of files are shards of one table, in order (two
    files are two shards, not data and labels)."""
    X, _ = rows
    (tmp_path / "parts").mkdir()
    for i, part in enumerate(np.array_split(X, 2)):
        np.save(tmp_path / "parts" / f"p{i}.npy", part)
    folder = autoencoder.Autoencoder(**SETTINGS).fit(tmp_path / "parts")
    pattern = autoencoder.Autoencoder(**SETTINGS).fit(Files(str(tmp_path / "parts" / "*.npy")))
    listed = autoencoder.Autoencoder(**SETTINGS).fit(Files([tmp_path / "parts" / "p0.npy", tmp_path / "parts" / "p1.npy"]))
    streamed = autoencoder.Autoencoder(**SETTINGS).fit(Files(tmp_path / "parts", stream=True, memory_budget="200M"))
    codes = folder.transform(X)
    for other in (pattern, listed, streamed):
        assert np.array_equal(other.transform(X), codes)
    assert np.array_equal(Files(tmp_path / "parts").read(), X)


def test_the_budget_chooses_to_stream(rows, tmp_path):
    """Without `stream`, rows over the budget stream (the 12 KB of the file's values
    over 10,000 bytes); here the budget cannot hold a window, and the error says so (naming memory_budget), where `stream=False` reads
    them whole."""
    X, _ = rows
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(ValueError, match=r"memory_budget.*cannot hold a window of 32 rows"):
        autoencoder.Autoencoder(**SETTINGS).fit(Files(tmp_path / "x.npy", memory_budget=10_000))
    est = autoencoder.Autoencoder(**SETTINGS).fit(Files(tmp_path / "x.npy", memory_budget=10_000, stream=False))
    assert not hasattr(est, "streamed_")
    # Under the budget, the rows are read whole.
    est.fit(Files(tmp_path / "x.npy", memory_budget="1G"))
    assert not hasattr(est, "streamed_")


def test_bad_files_are_refused_naming_what_is_wrong(rows, tmp_path):
    X, y = rows
    write_parquet(tmp_path / "t.parquet", X, y)
    est = autoencoder.Autoencoder(**SETTINGS)
    with pytest.raises(FileNotFoundError, match="nothing.parquet"):
        est.fit(tmp_path / "nothing.parquet")
    with pytest.raises(ValueError, match="no_such"):
        est.fit(Files(tmp_path / "t.parquet", label_column="no_such"))
    with pytest.raises(ValueError, match=r"memory_budget.*\"lots\" is not a size"):
        est.fit(Files(tmp_path / "t.parquet", memory_budget="lots"))
    with pytest.raises(ValueError, match="memory_budget must be at least one byte"):
        Files(tmp_path / "t.parquet", memory_budget=0)
    with pytest.raises(ValueError, match="stream must be True, False or None"):
        Files(tmp_path / "t.parquet", stream="yes")
    with pytest.raises(ValueError, match="label_column must be a column name"):
        Files(tmp_path / "t.parquet", label_column=1.5)
    with pytest.raises(ValueError, match="Files takes paths"):
        Files([tmp_path / "t.parquet", 3])
    # An NPY file has no columns to choose: a label column is refused, not read as a feature.
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(ValueError, match="x.npy: a label column cannot be chosen: NPY files have no named columns"):
        est.fit(Files(tmp_path / "x.npy", label_column="label"))
    (tmp_path / "text.csv").write_text("a,b\n1,x\n")
    with pytest.raises(ValueError, match="text.csv"):
        est.fit(tmp_path / "text.csv")
    # A missing value is refused unless missing="mean" fills it, as for arrays.
    (tmp_path / "gap.csv").write_text("a,b\n1,2\n3,\n5,6\n")
    with pytest.raises(ValueError, match="gap.csv"):
        autoencoder.Autoencoder(layers=(2, 1), epochs=1).fit(tmp_path / "gap.csv")
    filled = autoencoder.Autoencoder(layers=(2, 1), epochs=1, batch_size=2, missing="mean").fit(tmp_path / "gap.csv")
    assert filled.model_.fills_missing
    # A validation set shared out is for arrays.
    with pytest.raises(ValueError, match="shared_validation is for rows passed as arrays"):
        est.fit(Files(tmp_path / "t.parquet"), shared_validation=True)
    assert not hasattr(est, "model_")


def write_cities(path, X, cities, order=None):
    """`X`'s rows with a text column `city` (None: a null) and a `label`, in `order`."""
    order = np.arange(len(X)) if order is None else order
    cols = {f"f{j}": X[order, j] for j in range(X.shape[1])}
    cols["city"] = pa.array([cities[i] for i in order], type=pa.string())
    cols["label"] = np.arange(len(X))[order] % 2
    pq.write_table(pa.table(cols), path, row_group_size=GROUP)


def test_categorical_files_give_ae_trains_model_and_are_read_with_its_values(ae, rows, tmp_path):
    """`Files(categorical=...)` one-hot encodes text columns as `ae train --categorical`
    (the same model bytes, read whole, streamed and with validation files), and every
    later read of files by the model encodes them with its training values, as `ae`'s
    commands do: a file whose rows come in another order, with a value the model has not
    seen, gives `ae encode`'s codes and `ae score`'s scores."""
    X, _ = rows
    rng = np.random.default_rng(5)
    cities = [["Oslo", "Lima", "Pune", None][k] for k in rng.integers(0, 4, size=len(X))]
    write_cities(tmp_path / "t.parquet", X[:500], cities[:500])
    write_cities(tmp_path / "v.parquet", X[500:], ["Oslo", "Lima"] * 50)
    files = Files(tmp_path / "t.parquet", label_column="label", categorical="city", stream=False)
    est = autoencoder.Autoencoder(**SETTINGS).fit(files)
    flags = ["--label-column", "label", "--categorical", "city", *FLAGS]
    ae("train", tmp_path / "t.parquet", *flags, "-o", tmp_path / "cli.safetensors")
    assert fitted_bytes(est, tmp_path / "py.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    assert list(est.feature_names_in_) == [f"f{j}" for j in range(5)] + ["city=Lima", "city=Oslo", "city=Pune"]
    assert est.model_.categorical_columns == ["city"]
    # Streamed in windows of 200 rows, with validation files (encoded with the training
    # rows' values: the validation rows hold two of the three).
    budget = budget_for(200, 8)
    streamed = Files(tmp_path / "t.parquet", label_column="label", categorical="city", stream=True,
                     memory_budget=budget)
    val = Files(tmp_path / "v.parquet", label_column="label", categorical="city")
    est_s = autoencoder.Autoencoder(**SETTINGS).fit(streamed, validation_data=val)
    assert est_s.streamed_["window_rows"] == 200
    ae("train", tmp_path / "t.parquet", *flags, "--stream", "--memory-budget", budget,
       "--validation", tmp_path / "v.parquet", "-o", tmp_path / "cli-s.safetensors")
    assert fitted_bytes(est_s, tmp_path / "py-s.safetensors") == (tmp_path / "cli-s.safetensors").read_bytes()
    assert len(est_s.history_["val_loss"]) == 3
    # Later files, read with the model's values: the rows reversed, "Rome" unseen.
    later = cities[:500]
    later[7] = "Rome"
    order = np.arange(500)[::-1]
    write_cities(tmp_path / "later.parquet", X[:500], later, order)
    files = Files(tmp_path / "later.parquet", label_column="label")
    codes = est.transform(files)
    ae("encode", tmp_path / "cli.safetensors", tmp_path / "later.parquet", "--label-column", "label",
       "-o", tmp_path / "z.npy", "--threads", 1)
    assert np.array_equal(codes, np.load(tmp_path / "z.npy"))
    whole = est.model_.read_files(files._core())
    assert whole.shape == (500, 8)
    assert whole[500 - 1 - 7, 5:].tolist() == [0, 0, 0]  # Rome sets none of the features
    assert np.array_equal(codes, est.transform(whole))
    assert np.array_equal(est.predict(files), est.predict(whole))
    scores = est.score_samples(files)
    ae("score", tmp_path / "cli.safetensors", tmp_path / "later.parquet", "--label-column", "label",
       "-o", tmp_path / "s.csv", "--threads", 1)
    lines = (tmp_path / "s.csv").read_text().split("\n")[1:]
    assert [float(l.split(",")[1]) for l in lines if l] == scores.tolist()
    # A DataFrame holding the text column is encoded with the model's values too.
    df = pa.parquet.read_table(tmp_path / "later.parquet").to_pandas().drop(columns="label")
    assert np.array_equal(est.transform(df), codes)
    with pytest.raises(ValueError, match="categorical must be a column name"):
        Files(tmp_path / "t.parquet", categorical=[2.5])


def test_missing_drop_leaves_rows_out_as_ae_train(ae, rows, tmp_path):
    """`missing="drop"` leaves the rows with a missing value out of training, as
    `ae train --missing drop` (the same model bytes, from files and from arrays), and
    counts them; the model then refuses a missing value. A detector's training scores
    are those of the rows kept, as `ae score --missing drop` scores them."""
    X, _ = rows
    X = X.copy()
    gaps = [3, 40, 41, 399]
    X[gaps, [0, 4, 1, 2]] = np.nan
    np.save(tmp_path / "x.npy", X)
    est = autoencoder.Autoencoder(**SETTINGS, missing="drop").fit(tmp_path / "x.npy")
    ae("train", tmp_path / "x.npy", "--missing", "drop", *FLAGS, "-o", tmp_path / "cli.safetensors")
    assert fitted_bytes(est, tmp_path / "py.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    assert est.dropped_rows_ == 4
    by_array = autoencoder.Autoencoder(**SETTINGS, missing="drop").fit(X, source=tmp_path / "x.npy")
    assert fitted_bytes(by_array, tmp_path / "arr.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    assert by_array.dropped_rows_ == 4
    assert autoencoder.Autoencoder(**SETTINGS).fit(X[:10][~np.isnan(X[:10]).any(axis=1)]).dropped_rows_ == 0
    # Streamed, the same rows are left out (windows of 200 of the 596 kept rows).
    budget = budget_for(200, 5, largest_part=600)
    streamed = autoencoder.Autoencoder(**SETTINGS, missing="drop").fit(
        Files(tmp_path / "x.npy", stream=True, memory_budget=budget))
    ae("train", tmp_path / "x.npy", "--missing", "drop", "--stream", "--memory-budget", budget, *FLAGS,
       "-o", tmp_path / "cli-s.safetensors")
    assert fitted_bytes(streamed, tmp_path / "py-s.safetensors") == (tmp_path / "cli-s.safetensors").read_bytes()
    assert (streamed.streamed_["rows"], streamed.dropped_rows_) == (596, 4)
    # A model trained on complete rows refuses a missing value.
    with pytest.raises(ValueError, match="row 4, column 1 is nan"):
        est.transform(X)
    # The detector scores the rows it trained on, from arrays and from files.
    kept = np.delete(X, gaps, axis=0)
    det = autoencoder.AnomalyDetector(contamination=0.05, layers=(8, 2), epochs=2, seed=3, threads=1,
                                      missing="drop").fit(X)
    assert np.array_equal(det.decision_scores_, det.decision_function(kept))
    det_f = autoencoder.AnomalyDetector(contamination=0.05, layers=(8, 2), epochs=2, seed=3, threads=1,
                                        missing="drop").fit(tmp_path / "x.npy")
    assert np.array_equal(det_f.decision_scores_, det.decision_scores_)
    assert det_f.labels_.tolist() == det.labels_.tolist()
    assert len(det_f.labels_) == 596
    with pytest.raises(ValueError, match='missing must be "error", "drop" or "mean"'):
        autoencoder.Autoencoder(missing="skip").fit(X)


def test_dataframes_with_text_columns_are_encoded_as_ae_train_encodes_files(ae, rows, tmp_path):
    """``categorical=`` one-hot encodes a DataFrame's text columns through the library's
    Arrow reader: pandas, polars and pyarrow frames fit ``ae train --categorical``'s model
    bytes, a validation frame is encoded with the training values, and later frames
    (a pandas ``category`` column, polars, pyarrow) and files give the same codes; a
    frame whose columns come in another order, an array, and frames shared among peers
    are refused."""
    X, _ = rows
    cities = [["Oslo", "Lima", "Pune", None][i % 4] for i in range(len(X))]
    write_cities(tmp_path / "t.parquet", X[:500], cities[:500])
    write_cities(tmp_path / "v.parquet", X[500:], ["Oslo", "Lima"] * 50)
    frame = pq.read_table(tmp_path / "t.parquet").drop(["label"])
    val = pq.read_table(tmp_path / "v.parquet").drop(["label"]).to_pandas()
    ae("train", tmp_path / "t.parquet", "--label-column", "label", "--categorical", "city", *FLAGS,
       "--validation", tmp_path / "v.parquet", "-o", tmp_path / "cli.safetensors")
    want = (tmp_path / "cli.safetensors").read_bytes()
    pl = pytest.importorskip("polars")
    fitted = {}
    for kind, df in [("pandas", frame.to_pandas()), ("polars", pl.from_arrow(frame)), ("pyarrow", frame)]:
        est = autoencoder.Autoencoder(**SETTINGS, categorical="city")
        est.fit(df, validation_data=val, source=tmp_path / "t.parquet")
        assert fitted_bytes(est, tmp_path / f"{kind}.safetensors") == want, kind
        assert list(est.feature_names_in_)[-3:] == ["city=Lima", "city=Oslo", "city=Pune"]
        fitted[kind] = est
    # Validation files are encoded with the training values too (they hold two of them).
    by_files = autoencoder.Autoencoder(**SETTINGS, categorical="city").fit(
        frame.to_pandas(), validation_data=Files(tmp_path / "v.parquet", label_column="label", categorical="city"),
        source=tmp_path / "t.parquet")
    assert fitted_bytes(by_files, tmp_path / "by-files.safetensors") == want
    est = fitted["pandas"]
    codes = est.transform(Files(tmp_path / "t.parquet", label_column="label"))
    pandas = frame.to_pandas()
    pandas["city"] = pandas["city"].astype("category")
    for df in [pandas, pl.from_arrow(frame), frame]:
        assert np.array_equal(est.transform(df), codes)
    with pytest.raises(ValueError, match="The feature names should match"):
        est.transform(pandas[["f1", "f0", "f2", "f3", "f4", "city"]])
    with pytest.raises(ValueError, match="categorical names columns of a DataFrame"):
        autoencoder.Autoencoder(**SETTINGS, categorical="city").fit(X)

    class Peers:
        rank, size = 0, 2

        def all_gather(self, mine, counts):
            raise RuntimeError("no exchange is made")

    with pytest.raises(ValueError, match="shared among peers.*pass Files"):
        autoencoder.Autoencoder(**SETTINGS, categorical="city").fit(frame.to_pandas(), peers=Peers())


def test_csv_files_are_read_with_their_delimiter_decimal_mark_and_header(ae, rows, tmp_path):
    """`Files(decimal=",")` reads numbers written with a decimal comma (a semicolon
    file, as European spreadsheets export) as `ae train --decimal comma` does: the same
    model bytes whole and streamed, and the rows of the file written with points;
    `header` and `delimiter` are `ae`'s flags too. Bad settings are refused when the
    `Files` is made, and decimal commas read as points are refused naming the reason."""
    X, y = rows
    text = lambda v: np.format_float_positional(v, unique=True)
    lines = [";".join([*(f"f{j}" for j in range(5)), "label"])]
    lines += [";".join([*(text(v).replace(".", ",") for v in r), str(l)]) for r, l in zip(X, y)]
    (tmp_path / "eu.csv").write_text("\n".join(lines) + "\n")
    files = Files(tmp_path / "eu.csv", label_column="label", decimal=",", stream=False)
    assert np.array_equal(files.read(), X)
    est = autoencoder.Autoencoder(**SETTINGS).fit(files)
    flags = ["--label-column", "label", "--decimal", "comma", *FLAGS]
    ae("train", tmp_path / "eu.csv", *flags, "-o", tmp_path / "cli.safetensors")
    assert fitted_bytes(est, tmp_path / "py.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    by_array = autoencoder.Autoencoder(**SETTINGS).fit(X, source=tmp_path / "eu.csv")
    assert np.array_equal(by_array.transform(X), est.transform(X))
    budget = budget_for(200, 5, largest_part=600)  # a CSV file this small is one part
    streamed = Files(tmp_path / "eu.csv", label_column="label", decimal="comma", stream=True, memory_budget=budget)
    est_s = autoencoder.Autoencoder(**SETTINGS).fit(streamed)
    assert est_s.streamed_["window_rows"] == 200
    ae("train", tmp_path / "eu.csv", *flags, "--stream", "--memory-budget", budget, "-o", tmp_path / "cli-s.safetensors")
    assert fitted_bytes(est_s, tmp_path / "py-s.safetensors") == (tmp_path / "cli-s.safetensors").read_bytes()
    # The model reads later files with the Files' settings: a headerless TSV.
    (tmp_path / "x.tsv").write_text("\n".join("\t".join(text(v) for v in r) for r in X) + "\n")
    tsv = Files(tmp_path / "x.tsv", header="no", delimiter="tab")
    assert np.array_equal(est.transform(tsv), est.transform(X))
    assert "header='no', delimiter='tab'" in repr(tsv)
    with pytest.raises(ValueError, match=r'"0,\d+" is not a number \(a decimal comma'):
        Files(tmp_path / "eu.csv", label_column="label").read()
    with pytest.raises(ValueError, match="decimal"):
        Files(tmp_path / "eu.csv", decimal="dot-dot")
    with pytest.raises(ValueError, match="a comma cannot be both the field delimiter and the decimal mark"):
        Files(tmp_path / "eu.csv", delimiter=",", decimal=",")
    with pytest.raises(ValueError, match="header"):
        Files(tmp_path / "eu.csv", header="maybe")
    with pytest.raises(ValueError, match="delimiter"):
        Files(tmp_path / "eu.csv", delimiter="::")


def test_thousands_separators_read_as_ae_reads_them(ae, rows, tmp_path):
    """`Files(thousands=",")` reads `"12,345.5"` (quoted in a comma file, as US
    spreadsheets export money) as `ae train --thousands comma` does: the model bytes,
    and the rows of the numbers written plainly. Without it the numbers are refused
    naming the setting; a separator that is the decimal mark, or unknown, is refused
    when the `Files` is made."""
    X, y = rows
    big = (X * np.float32(123457)).astype(np.float32)

    def grouped(v):
        t = np.format_float_positional(v, unique=True)
        sign, t = ("-", t[1:]) if t.startswith("-") else ("", t)
        whole, _, frac = t.partition(".")
        return f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")

    lines = [",".join([*(f"f{j}" for j in range(5)), "label"])]
    lines += [",".join([*(f'"{grouped(v)}"' for v in r), str(l)]) for r, l in zip(big, y)]
    assert any("," in g for g in lines[1].split('"')[1::2])
    (tmp_path / "us.csv").write_text("\n".join(lines) + "\n")
    files = Files(tmp_path / "us.csv", label_column="label", thousands=",", stream=False)
    assert np.array_equal(files.read(), big)
    assert "thousands=','" in repr(files)
    est = autoencoder.Autoencoder(**SETTINGS).fit(files)
    ae("train", tmp_path / "us.csv", "--label-column", "label", "--thousands", "comma", *FLAGS, "-o", tmp_path / "cli.safetensors")
    assert fitted_bytes(est, tmp_path / "py.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    with pytest.raises(ValueError, match=r"is not a number \(a thousands separator: thousands = comma reads it\)"):
        Files(tmp_path / "us.csv", label_column="label").read()
    with pytest.raises(ValueError, match="the thousands separator cannot be the decimal mark"):
        Files(tmp_path / "us.csv", thousands=".")
    with pytest.raises(ValueError, match="thousands"):
        Files(tmp_path / "us.csv", thousands="-")


def test_decimal_columns_read_as_ae_reads_them(ae, rows, tmp_path):
    """A decimal column (money, as databases and Spark write it) is read as `ae` reads
    it: each value the float32 of its text, a null a missing value. Parquet files give
    `ae train`'s model bytes; a pyarrow Table, a polars or a pandas (Arrow-typed)
    DataFrame holding it give the same rows through the library's Arrow reader."""
    import decimal

    pl = pytest.importorskip("polars")
    import pandas as pd

    X, _ = rows
    cents = np.round(X[:, 0].astype(np.float64) * 100).astype(np.int64)
    prices = [decimal.Decimal(int(c)).scaleb(-2) for c in cents]
    table = pa.table({"price": pa.array(prices, pa.decimal128(12, 2)), **{f"f{j}": X[:, j] for j in range(1, 5)}})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=GROUP)
    read = Files(tmp_path / "d.parquet").read()
    assert np.array_equal(read[:, 0], np.array([np.float32(str(p)) for p in prices]))
    assert np.array_equal(read[:, 1:], X[:, 1:])
    est = autoencoder.Autoencoder(**SETTINGS).fit(Files(tmp_path / "d.parquet", stream=False))
    ae("train", tmp_path / "d.parquet", *FLAGS, "-o", tmp_path / "cli.safetensors")
    assert fitted_bytes(est, tmp_path / "py.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    by_table = autoencoder.Autoencoder(**SETTINGS).fit(table, source=tmp_path / "d.parquet")
    assert fitted_bytes(by_table, tmp_path / "t.safetensors") == (tmp_path / "cli.safetensors").read_bytes()
    codes = est.transform(Files(tmp_path / "d.parquet"))
    assert np.array_equal(est.transform(pl.from_arrow(table)), codes)
    assert np.array_equal(est.transform(table.to_pandas(types_mapper=pd.ArrowDtype)), codes)
    # A null is a missing value, refused unless the estimator handles them.
    gappy = table.set_column(0, "price", pa.array([None, *prices[1:]], pa.decimal128(12, 2)))
    with pytest.raises(ValueError, match="missing value"):
        est.transform(gappy)
    # pandas' own decimals (Python objects, as database drivers return money) too.
    assert np.array_equal(est.transform(table.to_pandas()), codes)
    mixed = table.to_pandas().astype({"price": object})
    mixed.loc[3, "price"] = "n/a"
    with pytest.raises(ValueError, match="column 'price' is object, not numeric"):
        est.transform(mixed)


def test_decimals_round_once_to_float32():
    """A decimal's value rounds once, to its nearest float32, from every kind of frame.
    1 + 2^-24 + 10^-30 lies just above the midpoint of the float32s 1 and 1 + 2^-23:
    through a float64 it would become the midpoint and round to even, 1."""
    import decimal

    from autoencoder._convert import as_rows

    pl = pytest.importorskip("polars")
    import pandas as pd

    text = "1.000000059604644775390625000001"
    above = np.nextafter(np.float32(1), np.float32(2))
    assert np.float32(np.float64(text)) == 1  # rounded twice (numpy's np.float32(text) too)
    table = pa.table({"v": pa.array([decimal.Decimal(text), decimal.Decimal("2.5")], pa.decimal128(38, 30))})
    frames = {
        "pyarrow": table,
        "polars": pl.from_arrow(table),
        "pandas (Arrow)": table.to_pandas(types_mapper=pd.ArrowDtype),
        "pandas (objects)": table.to_pandas(),
    }
    for name, frame in frames.items():
        rows, _ = as_rows(frame)
        assert rows[:, 0].tolist() == [above, 2.5], name


def test_strings_round_once_as_ae_reads_a_csv(tmp_path):
    """An array of numbers as text (numpy's str, bytes and StringDType arrays, and
    objects) is read as `ae` reads the same texts in a CSV file: the bits of
    ``Files(csv)``, each value rounded once (numpy's ``astype`` goes through float64),
    a missing value's text NaN; a text that is not a number names its row and column,
    with the reason `ae` gives."""
    import decimal

    from autoencoder._convert import as_rows

    texts = [["1.000000059604644775390625000001", "2.5", "-3e-2"], [" 0.1", "NA", "true"]]
    (tmp_path / "x.csv").write_text("a,b,c\n" + "\n".join(",".join(r) for r in texts) + "\n")
    want, _ = as_rows(autoencoder.Files(tmp_path / "x.csv", header="yes"), allow_nan=True)
    above = np.nextafter(np.float32(1), np.float32(2))
    assert want[0, 0] == above and np.isnan(want[1, 1]) and want[1, 2] == 1
    kinds = {"str": np.array(texts), "bytes": np.array(texts, dtype="S"), "object": np.array(texts, dtype=object)}
    if hasattr(np.dtypes, "StringDType"):
        kinds["StringDType"] = np.array(texts, dtype=np.dtypes.StringDType())
    for name, X in kinds.items():
        got, _ = as_rows(X, allow_nan=True)
        assert got.dtype == np.float32 and got.tobytes() == want.tobytes(), name
    # Objects: a Decimal by its digits, None a missing value, floats and ints as numpy
    # converts them.
    mixed = np.array([[decimal.Decimal(texts[0][0]), None, 0.1, 7]], dtype=object)
    got, _ = as_rows(mixed, allow_nan=True)
    assert got[0, 0] == above and np.isnan(got[0, 1]) and got[0, 2:].tolist() == [np.float32(0.1), 7]
    with pytest.raises(ValueError, match=r'X: row 2, column 3: "1,5" is not a number \(a decimal comma'):
        as_rows(np.array([["1", "2", "3"], ["4", "5", "1,5"]]))
    with pytest.raises(ValueError, match=r'row 1, column 1: "1,234.5" is not a number \(a thousands separator'):
        as_rows(np.array([["1,234.5"]], dtype=object))
    with pytest.raises(TypeError, match="not numbers"):
        as_rows(np.array([[{"a": 1}, "2"]], dtype=object))
    # A missing value's text is NaN, refused as NaN is without missing="mean".
    with pytest.raises(ValueError, match=r"row 2, column 2 is nan"):
        as_rows(np.array(texts))
    # A frame's text column may be categories: refused, with a hint when its values
    # are numbers written as text.
    import pandas as pd

    frames = [pd.DataFrame({"a": [1.0, 2.0], "b": ["1.5", "2"]})]
    frames.append(pa.Table.from_pandas(frames[0]))
    try:
        import polars as pl

        frames.append(pl.from_pandas(frames[0]))
    except ImportError:  # polars is optional
        pass
    for frame in frames:
        with pytest.raises(ValueError, match=r"column 'b' is .*, not numeric; its values are numbers written as text"):
            as_rows(frame)
    with pytest.raises(ValueError, match=r"column 'b' is .*, not numeric; select the numeric columns$"):
        as_rows(pd.DataFrame({"a": [1.0, 2.0], "b": ["1.5", "Oslo"]}))
