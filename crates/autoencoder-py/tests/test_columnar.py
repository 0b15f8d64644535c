"""Parquet and Arrow IPC files written by pyarrow, read by `ae`: the same rows as the
equivalent CSV, bit for bit (through `ae encode`'s codes and `ae score`'s scores), for
every compression pyarrow writes and several row groups; scores and codes written as
Parquet hold what the CSV outputs hold."""

import subprocess

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
feather = pytest.importorskip("pyarrow.feather")
ipc = pytest.importorskip("pyarrow.ipc")

from conftest import ae_binary  # noqa: E402


@pytest.fixture
def files(tmp_path, table):
    """The fixture table as CSV (values as f32's shortest text) and as a pyarrow table
    of mixed column types (f32, f64 holding f32 values, integers, booleans) plus an
    integer label column; a model trained on the CSV."""
    n = table.shape[0]
    rng = np.random.default_rng(11)
    counts = rng.integers(-50, 50, size=n).astype(np.int32)
    flags = rng.integers(0, 2, size=n).astype(bool)
    labels = (np.arange(n) < 6).astype(np.int64)
    cols = {f"f{i}": table[:, i] for i in range(4)}
    cols["f4"] = table[:, 4].astype(np.float64)  # f64 holding f32 values: exact
    cols["f5"] = table[:, 5]
    cols["count"] = counts
    cols["flag"] = flags
    cols["y"] = labels
    t = pa.table(cols)
    features = np.column_stack([table, counts.astype(np.float32), flags.astype(np.float32)])
    csv = tmp_path / "t.csv"
    with open(csv, "w") as f:
        f.write(",".join(list(cols)) + "\n")
        for row, y in zip(features, labels):
            # repr of a numpy float32 is its shortest round-trip text
            f.write(",".join(repr(float(np.float32(v))) if i < 6 else str(int(v)) for i, v in enumerate(row)))
            f.write(f",{y}\n")
    model = tmp_path / "m.safetensors"
    run = lambda *a: subprocess.run([ae_binary(), *map(str, a)], check=True, capture_output=True, text=True)
    run("train", csv, "--label-column", "y", "--preset", "tabular", "--epochs", "3", "-o", model, "-q")
    return t, csv, model, run


def written(t, tmp_path):
    """The table in every layout and compression pyarrow writes."""
    out = {}
    for codec in ["snappy", "zstd", "gzip", "lz4", "brotli", "none"]:
        p = tmp_path / f"t.{codec}.parquet"
        try:
            pq.write_table(t, p, compression=codec, row_group_size=50)
        except Exception:  # a codec this pyarrow build lacks
            continue
        out[p.name] = p
    for codec in ["lz4", "zstd", "uncompressed"]:
        p = tmp_path / f"t.{codec}.feather"
        feather.write_feather(t, p, compression=codec, chunksize=64)
        out[p.name] = p
    p = tmp_path / "t.arrows"
    with ipc.new_stream(p, t.schema) as w:
        for b in t.to_batches(max_chunksize=100):
            w.write_batch(b)
    out[p.name] = p
    return out


def test_parquet_and_arrow_give_the_csv_rows(files, tmp_path):
    t, csv, model, run = files
    want_codes = tmp_path / "codes.csv.npy"
    run("encode", model, csv, "--label-column", "y", "-o", want_codes)
    want_scores = run("score", model, csv, "--label-column", "y").stdout
    assert want_scores.count("\n") == t.num_rows + 1
    paths = written(t, tmp_path)
    assert any(n.endswith(".parquet") for n in paths) and "t.lz4.feather" in paths
    for name, p in paths.items():
        codes = tmp_path / f"codes.{name}.npy"
        run("encode", model, p, "--label-column", "y", "-o", codes)
        assert codes.read_bytes() == want_codes.read_bytes(), name
        assert run("score", model, p, "--label-column", "y").stdout == want_scores, name
    # Read once from standard input: Arrow's stream and file layouts, and Parquet.
    for name in ["t.arrows", "t.lz4.feather", "t.snappy.parquet"]:
        p = subprocess.run(
            [ae_binary(), "score", str(model), "-", "--label-column", "y"],
            input=paths[name].read_bytes(),
            capture_output=True,
            check=True,
        )
        assert p.stdout.decode() == want_scores, name


def test_scores_and_codes_written_as_parquet(files, tmp_path):
    t, csv, model, run = files
    run("score", model, csv, "--label-column", "y", "-o", tmp_path / "s.csv")
    run("score", model, csv, "--label-column", "y", "-o", tmp_path / "s.parquet")
    s = pq.read_table(tmp_path / "s.parquet")
    rows = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1)
    assert s.column_names[:2] == ["id", "score"]
    assert s.column("id").to_pylist() == list(range(t.num_rows))
    assert np.array_equal(s.column("score").to_numpy(), rows[:, 1])
    run("encode", model, csv, "--label-column", "y", "-o", tmp_path / "c.npy")
    run("encode", model, csv, "--label-column", "y", "-o", tmp_path / "c.parquet")
    c = pq.read_table(tmp_path / "c.parquet")
    codes = np.load(tmp_path / "c.npy")
    assert c.column_names == [f"z{i + 1}" for i in range(codes.shape[1])]
    assert np.array_equal(np.column_stack([c.column(n).to_numpy() for n in c.column_names]), codes)


def test_bad_tables_are_named(files, tmp_path):
    t, csv, model, run = files
    bad = t.append_column("name", pa.array(["x"] * t.num_rows))
    p = tmp_path / "text.parquet"
    pq.write_table(bad, p)
    r = subprocess.run([ae_binary(), "score", str(model), str(p)], capture_output=True, text=True)
    assert r.returncode == 1 and '"name"' in r.stderr and "not numbers" in r.stderr, r.stderr
    holes = t.set_column(2, "f2", pa.array([None] + t.column("f2").to_pylist()[1:], pa.float32()))
    p = tmp_path / "null.parquet"
    pq.write_table(holes, p)
    r = subprocess.run([ae_binary(), "score", str(model), str(p), "--label-column", "y"], capture_output=True, text=True)
    assert r.returncode == 1 and 'row 1, column 3 ("f2")' in r.stderr and "missing" in r.stderr, r.stderr


def test_id_and_ignored_columns_carry_the_keys(files, tmp_path):
    """A table with a text key, an integer key and a text note: `--id-column` writes the
    key as the scores' and the codes' `id` (int64 or string in Parquet, as the key is),
    `--ignore-columns` leaves the note out, and the scores are the plain table's."""
    t, csv, model, run = files
    n = t.num_rows
    keys = [f"user-{i:04d}" for i in range(n)]
    keyed = t.append_column("key", pa.array(keys)).append_column("note", pa.array(["free text"] * n))
    keyed = keyed.append_column("serial", pa.array(np.arange(n, dtype=np.int64) * 1_000_003 + 2**40))
    p = tmp_path / "keyed.parquet"
    pq.write_table(keyed, p)
    plain = run("score", model, csv, "--label-column", "y").stdout.splitlines()[1:]
    args = ["--label-column", "y", "--ignore-columns", "note,serial"]
    rows = run("score", model, p, "--id-column", "key", *args).stdout.splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == keys
    assert [r.split(",", 1)[1] for r in rows] == [r.split(",", 1)[1] for r in plain]
    run("score", model, p, "--id-column", "key", *args, "-o", tmp_path / "s.parquet")
    s = pq.read_table(tmp_path / "s.parquet")
    assert s.schema.field("id").type == pa.string() and s.column("id").to_pylist() == keys
    args = ["--label-column", "y", "--ignore-columns", "note,key"]
    run("encode", model, p, "--id-column", "serial", *args, "-o", tmp_path / "c.parquet")
    c = pq.read_table(tmp_path / "c.parquet")
    assert c.schema.field("id").type == pa.int64()
    assert c.column("id").to_pylist() == keyed.column("serial").to_pylist()
    run("encode", model, csv, "--label-column", "y", "-o", tmp_path / "c.npy")
    codes = np.load(tmp_path / "c.npy")
    got = np.column_stack([c.column(name).to_numpy() for name in c.column_names[1:]])
    assert np.array_equal(got, codes)
    # Without --ignore-columns the text is named, with the flag that leaves it out.
    r = subprocess.run([ae_binary(), "score", str(model), str(p), "--label-column", "y", "--id-column", "key"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and '"note"' in r.stderr and "--ignore-columns" in r.stderr, r.stderr


def test_dictionary_encoded_columns_read_as_their_values(files, tmp_path):
    """pandas' `category` columns reach Parquet and Arrow dictionary-encoded: a text
    column one-hot encoded with `--categorical`, an integer feature, the label and a text
    id, each stored as a dictionary, give the codes and scores of the same table stored
    plainly, in every layout (in an Arrow stream the dictionaries come before the first
    record batch); streamed training on each layout writes the model training in memory
    writes."""
    t, csv, model, run = files
    n = t.num_rows
    kinds = pa.array([["red", "green", "blue"][i * 7 % 3] for i in range(n)])
    keys = pa.array([f"user-{i % 9}" for i in range(n)])
    plain = t.append_column("key", keys).append_column("kind", kinds)
    p = tmp_path / "plain.parquet"
    pq.write_table(plain, p)
    m = tmp_path / "kinds.safetensors"
    args = ["--label-column", "y", "--categorical", "kind", "--id-column", "key"]
    run("train", p, *args, "--preset", "tabular", "--epochs", "2", "-o", m, "-q")
    run("encode", m, p, *args, "-o", tmp_path / "want.npy")
    want_scores = run("score", m, p, *args).stdout
    assert want_scores.splitlines()[1].startswith("user-0,"), want_scores[:80]
    i = plain.schema.get_field_index("count")
    encoded = plain.set_column(i, "count", plain.column("count").dictionary_encode())
    for name in ["y", "key", "kind"]:
        i = encoded.schema.get_field_index(name)
        encoded = encoded.set_column(i, name, encoded.column(name).dictionary_encode())
    assert pa.types.is_dictionary(encoded.schema.field("kind").type)
    enc = tmp_path / "enc"
    enc.mkdir()
    paths = written(encoded, enc)
    assert pa.types.is_dictionary(ipc.open_stream(paths["t.arrows"]).schema.field("kind").type)
    for name, q in paths.items():
        run("encode", m, q, *args, "-o", tmp_path / f"got.{name}.npy")
        assert (tmp_path / f"got.{name}.npy").read_bytes() == (tmp_path / "want.npy").read_bytes(), name
        assert run("score", m, q, *args).stdout == want_scores, name
    # Streamed (a row group, a record batch at a time), with a third of the rows each
    # `red`, `green` and `blue` in turn, so that most chunks hold one value: every chunk
    # is one-hot encoded with the values of all of them, and the model is the one
    # training in memory writes.
    i = encoded.schema.get_field_index("kind")
    staged = pa.array([["red", "green", "blue"][i * 3 // n] for i in range(n)]).dictionary_encode()
    staged = encoded.set_column(i, "kind", staged)
    st = tmp_path / "staged"
    st.mkdir()
    train = [*args, "--preset", "tabular", "--epochs", "2", "--no-plots", "-q", "-o"]
    for name, q in written(staged, st).items():
        a, b = tmp_path / f"mem.{name}.safetensors", tmp_path / f"streamed.{name}.safetensors"
        run("train", q, *train, a)
        run("train", q, "--stream", *train, b)
        assert a.read_bytes() == b.read_bytes(), name
