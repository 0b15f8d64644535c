"""The recipes of docs/scale.md: examples/spark_score.py (Spark mapInPandas, local mode)
and examples/ray_score.py (Ray Data map_batches, a local cluster) score a Parquet dataset
split into 4 partitions or blocks, and give `ae score`'s scores (and `ae encode`'s codes)
on the whole file bit for bit. The model is variational: its elbo score draws samples at
each row's global index, so a part scored at a wrong row offset would differ.

pyspark (with Java) and ray come from requirements-scale.txt; without them these tests
skip, saying why (under CI, where .ci/run installs them, they fail instead)."""

import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from autoencoder import Model  # noqa: E402

# Spark's and Ray's own warnings (pandas 3, their renamed settings) are not this package's.
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray"),
]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ROWS, PARTS = 2000, 4
SCALE = "pip install -r crates/autoencoder-py/requirements-scale.txt"


def example(name):
    """examples/NAME.py, imported as the module NAME (so that Spark's and Ray's workers,
    given examples/ on their PYTHONPATH, import the same one)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def missing(message):
    """Skip the test saying why; under CI, which installs what these tests need, fail."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def needs(module, install=SCALE):
    """Import ``module``, or skip (fail under CI) saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        missing(f"{module} is not installed ({e}): {install}")


def needs_spark():
    needs("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing("no java for Spark: apt-get install default-jre-headless")


def workers_import_examples(monkeypatch):
    """Spark's and Ray's worker processes inherit the environment: examples/ on their
    PYTHONPATH, this Python for Spark's."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(EXAMPLES), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="module")
def data(tmp_path_factory, ae):
    """2,000 rows (a `row` column 0..n-1, five float64 and one float32 feature) as one
    file and as a folder of 4 files; a variational model trained on them by `ae`, and
    `ae score`'s scores and `ae encode`'s codes of the whole file."""
    d = tmp_path_factory.mktemp("scale")
    rng = np.random.default_rng(18)
    z = rng.normal(size=(ROWS, 3))
    X = z @ rng.normal(size=(3, 6)) + 0.1 * rng.normal(size=(ROWS, 6))
    cols = {"row": np.arange(ROWS, dtype=np.int64)}
    cols.update({f"f{j}": X[:, j] for j in range(5)})
    cols["f5"] = X[:, 5].astype(np.float32)
    t = pa.table(cols)
    whole, parts = d / "whole.parquet", d / "parts"
    pq.write_table(t, whole)
    parts.mkdir()
    size = ROWS // PARTS
    for i in range(PARTS):
        pq.write_table(t.slice(i * size, size), parts / f"part-{i:05d}.parquet")
    model = d / "vae.safetensors"
    ae("train", whole, "--id-column", "row", "--layers", "8,3", "--epochs", "2", "--variational",
       "--seed", "3", "-o", model, "--no-plots", "-q")
    ae("score", model, whole, "--id-column", "row", "-o", d / "scores.parquet")
    ae("encode", model, whole, "--id-column", "row", "-o", d / "codes.parquet")
    scores = pq.read_table(d / "scores.parquet").to_pandas()
    codes = pq.read_table(d / "codes.parquet").to_pandas()
    assert scores["id"].tolist() == list(range(ROWS)) and codes["id"].tolist() == list(range(ROWS))
    assert Model.load(str(model)).score_kind == "elbo"
    return SimpleNamespace(
        dir=d, table=t, whole=whole, parts=parts, model=model, model_bytes=model.read_bytes(),
        scores=scores, codes=codes.drop(columns="id"),
    )


def same_bits(got, want, what):
    """Assert two arrays hold the same dtype and bits, naming the first differing row."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, ae's {want.dtype}"
    assert got.shape == want.shape, f"{what}: {got.shape[0]} rows, ae's {want.shape[0]}"
    differ = np.flatnonzero(got.view(f"u{got.itemsize}") != want.view(f"u{want.itemsize}"))
    assert differ.size == 0, (
        f"{what}: {differ.size} of {len(got)} rows differ from ae's bits; "
        f"row {differ[0]}: {got[differ[0]]!r}, ae: {want[differ[0]]!r}"
    )


def assert_equals_ae(out, data, encode=False):
    """``out`` (a pandas DataFrame with `id`, in any order) holds `ae score`'s scores of
    the whole file, and with ``encode`` `ae encode`'s codes, joined on the row id."""
    out = out.sort_values("id", kind="stable").reset_index(drop=True)
    assert out["id"].tolist() == list(range(ROWS)), "the ids are not the rows 0..n-1, each once"
    same_bits(out["score"].to_numpy(), data.scores["score"].to_numpy(), "score")
    codes = [c for c in out.columns if c.startswith("z")]
    assert codes == (list(data.codes.columns) if encode else []), f"columns {list(out.columns)}"
    for c in codes:
        same_bits(out[c].to_numpy(), data.codes[c].to_numpy(), c)


def read_folder(path):
    return pq.read_table(path).to_pandas()


# --------------------------------------------------------------- the shared part


@pytest.mark.parametrize("name", ["spark_score", "ray_score"])
def test_runs_of_consecutive_row_numbers(name):
    runs = example(name).runs
    assert list(runs(np.array([7, 8, 9, 3, 4, 10, 0]))) == [(0, 3), (3, 5), (5, 6), (6, 7)]
    assert list(runs(np.arange(5, 10))) == [(0, 5)]
    assert list(runs(np.array([4]))) == [(0, 1)]


def test_the_two_recipes_share_the_batch_code():
    """The two scripts stand alone (users copy one), so each has its copy of the code
    that scores a batch: the copies must stay the same."""
    spark, ray = example("spark_score"), example("ray_score")
    for f in ("runs", "score_batch"):
        assert inspect.getsource(getattr(spark, f)) == inspect.getsource(getattr(ray, f)), f"{f} differs"


def test_a_batch_scores_at_its_row_numbers(data):
    """A part's rows scored with their row numbers give ae's scores of the whole file; the
    same rows numbered from 0 give other scores (so the recipes' tests can fail)."""
    score_batch = example("ray_score").score_batch
    model = Model.from_bytes(data.model_bytes)
    features = [f"f{j}" for j in range(6)]
    part = data.table.slice(1000, 500).to_pydict()
    batch = {k: np.asarray(v) for k, v in part.items()}
    out = score_batch(model, batch, "row", features, encode=True)
    same_bits(out["score"], data.scores["score"].to_numpy()[1000:1500], "score")
    same_bits(out["z1"], data.codes["z1"].to_numpy()[1000:1500], "z1")
    batch["row"] = np.arange(500)
    wrong = score_batch(model, batch, "row", features)["score"]
    assert not np.any(wrong == data.scores["score"].to_numpy()[1000:1500])


# --------------------------------------------------------------- Spark


@pytest.fixture
def spark(monkeypatch):
    """A local Spark session (2 worker threads, one partition per file), stopped at the
    end with its JVM."""
    needs_spark()
    workers_import_examples(monkeypatch)
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("test_scale")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.files.openCostInBytes", str(1 << 30))  # a partition per file
        .config("spark.sql.shuffle.partitions", str(PARTS))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    gateway = SparkContext._gateway
    if gateway is not None:  # end the JVM too (it would live until Python exits)
        gateway.shutdown()
        proc = getattr(gateway, "proc", None)
        if proc is not None:
            proc.stdin.close()  # the JVM exits at its standard input's end
            proc.wait(timeout=60)
        SparkContext._gateway = SparkContext._jvm = None


def test_spark_map_in_pandas_equals_ae_score(spark, data, tmp_path):
    recipe = example("spark_score")
    df = spark.read.parquet(str(data.parts))
    assert df.rdd.getNumPartitions() == PARTS
    out = tmp_path / "scores"
    recipe.score_dataframe(df, data.model_bytes, "row").write.parquet(str(out))
    assert_equals_ae(read_folder(out), data)
    # Rows dealt round-robin to 4 partitions: every batch a mix of runs.
    mixed = df.repartition(PARTS)
    assert_equals_ae(recipe.score_dataframe(mixed, data.model_bytes, "row", encode=True).toPandas(), data, encode=True)
    with pytest.raises(ValueError, match="but the model takes 6"):
        recipe.score_dataframe(df, data.model_bytes, "row", columns=["f0", "f1"])


# --------------------------------------------------------------- Ray


@pytest.fixture
def ray_cluster(monkeypatch):
    """A local Ray cluster of 2 CPUs, shut down at the end."""
    ray = needs("ray")
    needs("ray.data")
    workers_import_examples(monkeypatch)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield ray
    finally:
        ray.shutdown()


def test_ray_map_batches_equals_ae_score(ray_cluster, data, tmp_path):
    ray = ray_cluster
    recipe = example("ray_score")
    ds = ray.data.read_parquet(str(data.parts)).repartition(PARTS, shuffle=False).materialize()
    assert ds.num_blocks() == PARTS
    out = tmp_path / "scores"
    recipe.score_dataset(ds, data.model_bytes, "row").write_parquet(str(out))
    assert_equals_ae(read_folder(out), data)
    # The rows shuffled into 4 blocks: every batch a mix of runs.
    mixed = ds.random_shuffle(seed=1).repartition(PARTS)
    assert_equals_ae(recipe.score_dataset(mixed, data.model_bytes, "row", encode=True).to_pandas(), data, encode=True)
    with pytest.raises(ValueError, match="no --id-column 'id'"):
        recipe.score_dataset(ds, data.model_bytes, "id")


# --------------------------------------------------------------- the scripts, as users run them


def run_script(name, *args):
    p = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, f"{name}.py exited {p.returncode}:\n{p.stderr[-3000:]}"


def test_spark_script(data, tmp_path):
    needs_spark()
    out = tmp_path / "scores"
    run_script("spark_score", data.model, data.parts, out, "--id-column", "row", "--master", "local[2]", "--encode")
    assert_equals_ae(read_folder(out), data, encode=True)


def test_ray_script(data, tmp_path):
    needs("ray")
    out = tmp_path / "scores"
    run_script("ray_score", data.model, data.whole, out, "--num-cpus", "2", "--blocks", str(PARTS), "--encode")
    assert_equals_ae(read_folder(out), data, encode=True)
