"""`to_torch` against the `ae` command: models trained by `ae train` on small generated
data, converted to PyTorch, must give `ae reconstruct`'s, `ae encode`'s and `ae
decode`'s outputs to 1e-6 (max abs difference).

The `ae` binary is conftest's: $AE_BIN, else the workspace's release build, then its
debug build; the tests skip when it, or PyTorch, is missing. `_torch.py`
is imported by path so that the compiled `_core` extension is not needed.
"""

import copy
import importlib.util
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import ae_binary

torch = pytest.importorskip("torch")

HERE = Path(__file__).resolve().parent
MODULE = HERE.parent / "python" / "autoencoder" / "_torch.py"
# The same `ae` the other tests compare with ($AE_BIN, else the workspace's build).
AE = Path(ae_binary() or "ae-not-built")
TOL = 1e-6


def _load_module():
    spec = importlib.util.spec_from_file_location("autoencoder_torch_under_test", MODULE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = _load_module()

needs_ae = pytest.mark.skipif(
    not AE.is_file() or not os.access(AE, os.X_OK), reason=f"no ae binary at {AE} (set AE_BIN)"
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread for torch (and `--threads 1` for ae): small models, a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def ae(*args):
    """Run `ae ARGS…`, failing the test with its stderr when it fails."""
    r = subprocess.run([str(AE), *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, f"ae {' '.join(map(str, args))} failed:\n{r.stderr}"
    return r


# --- data ----------------------------------------------------------------------------


def table(tmp, rows=48, cols=10, unit=False, seed=0):
    """A CSV of correlated columns (in [0, 1] when `unit`), and its float32 rows."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(rows, 3))
    x = z @ rng.normal(size=(3, cols)) + 0.3 * rng.normal(size=(rows, cols))
    if unit:
        x = 1.0 / (1.0 + np.exp(-x))
    else:
        x = 0.4 * x + 0.5  # outside [0, 1], but small: float32 rounding of raw units stays below 1e-6
    x = np.round(x, 5).astype(np.float32)
    path = tmp / "table.csv"
    header = ",".join(f"f{i}" for i in range(cols))
    np.savetxt(path, x, delimiter=",", fmt="%.5f", header=header, comments="")
    return path, x


def images(tmp, n=24, c=1, h=8, w=8, seed=1):
    """An .npy of `n` images `c×h×w` with values in [0, 1], and its rows `(n, c·h·w)`."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    imgs = np.empty((n, c, h, w), np.float32)
    for i in range(n):
        for ch in range(c):
            a, b, p = rng.uniform(0.5, 3, 3)
            imgs[i, ch] = 0.5 + 0.4 * np.sin(a * 3 * xx + b * 2 * yy + p) * rng.uniform(0.5, 1)
    imgs = np.clip(imgs + 0.05 * rng.normal(size=imgs.shape), 0, 1).astype(np.float32)
    path = tmp / "images.npy"
    np.save(path, imgs)
    return path, imgs.reshape(n, -1)


# --- models --------------------------------------------------------------------------

DENSE = ["--layers", "16,4"]
# name: (data kind, train flags[, epochs (default 2)])
MODELS = {
    "dense": ("unit", DENSE),
    "dense_zscore": ("wide", DENSE + ["--normalize", "zscore"]),
    "dense_minmax_decoder_layers": (
        "wide",
        [
            "--layers",
            "12,3",
            "--decoder-layers",
            "5,9",
            "--normalize",
            "minmax",
            "--output-activation",
            "sigmoid",
        ],
    ),
    "tied": ("wide", ["--layers", "8,3", "--tied", "--normalize", "zscore"]),
    "dense_dropout": ("unit", ["--layers", "16,8,4", "--dropout", "0.3", "--activation", "relu"]),
    "variational": ("unit", ["--layers", "16,4", "--variational", "--output-activation", "sigmoid"]),
    "conv_bn_pool": (
        "img",
        ["--arch", "conv", "--channels", "2,3", "--layers", "4", "--batch-norm", "--downsample", "pool"],
    ),
    "conv_stride_bn_odd": (
        "img3x7x6",
        [
            "--arch",
            "conv",
            "--channels",
            "4,2",
            "--layers",
            "6,3",
            "--batch-norm",
            "--activation",
            "leaky_relu",
            "--dropout",
            "0.1",
            "--output-activation",
            "linear",
        ],
    ),
    "conv_k5_pool": (
        "img2",
        [
            "--arch",
            "conv",
            "--channels",
            "3",
            "--kernel-size",
            "5",
            "--downsample",
            "pool",
            "--layers",
            "5",
            "--activation",
            "elu",
        ],
    ),
    "conv_k4_stride_gelu": (
        "img",
        [
            "--arch",
            "conv",
            "--channels",
            "2,3",
            "--kernel-size",
            "4",
            "--layers",
            "4",
            "--activation",
            "gelu",
        ],
    ),
    "conv_variational": ("img", ["--arch", "conv", "--channels", "2,2", "--layers", "3", "--variational"]),
}
for act in ("linear", "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus"):
    MODELS[f"act_{act}"] = (
        "unit",
        [
            "--layers",
            "8,3",
            "--activation",
            act,
            "--code-activation",
            act,
            "--output-activation",
            act,
            "--normalize",
            "minmax",
            "--lr",
            "0.01",
        ],
        10,
    )


def make_data(tmp, kind):
    if kind == "unit":
        return table(tmp, unit=True)
    if kind == "wide":
        return table(tmp, unit=False)
    if kind == "img":
        return images(tmp)
    if kind == "img2":
        return images(tmp, c=2)
    if kind == "img3x7x6":
        return images(tmp, c=3, h=7, w=6)
    raise AssertionError(kind)


def train(tmp, kind, flags, epochs=2):
    data, x = make_data(tmp, kind)
    model = tmp / "model.safetensors"
    ae(
        "train",
        data,
        *flags,
        "--epochs",
        epochs,
        "--batch-size",
        16,
        "--threads",
        1,
        "-q",
        "--no-plots",
        "-o",
        model,
    )
    return model, data, x


def max_diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


@needs_ae
@pytest.mark.parametrize("name", list(MODELS))
def test_matches_ae_reconstruct_encode_and_decode(tmp_path, name):
    kind, flags, *epochs = MODELS[name]
    model_path, data, x = train(tmp_path, kind, flags, *epochs)
    m = T.to_torch(model_path.read_bytes())
    assert not m.training, "to_torch returns the module in eval mode"
    # Codes far from the training codes too, so that the decoder's output varies.
    random_codes = (2.0 * np.random.default_rng(5).normal(size=(16, m.code_dim))).astype(np.float32)
    np.save(tmp_path / "random_codes.npy", random_codes)
    ae("reconstruct", model_path, data, "-o", tmp_path / "rec.npy", "--threads", 1)
    ae("encode", model_path, data, "-o", tmp_path / "codes.npy", "--threads", 1)
    ae("decode", model_path, tmp_path / "codes.npy", "-o", tmp_path / "dec.npy", "--threads", 1)
    ae("decode", model_path, tmp_path / "random_codes.npy", "-o", tmp_path / "dec_random.npy", "--threads", 1)
    want_rec = np.load(tmp_path / "rec.npy").reshape(len(x), -1)
    want_codes = np.load(tmp_path / "codes.npy")
    want_dec = np.load(tmp_path / "dec.npy").reshape(len(x), -1)
    want_dec_random = np.load(tmp_path / "dec_random.npy").reshape(len(random_codes), -1)

    xt = torch.from_numpy(x)
    with torch.no_grad():
        rec = m(xt).numpy()
        codes = m.encode(xt).numpy()
        dec = m.decode(torch.from_numpy(want_codes.astype(np.float32))).numpy()
        dec_random = m.decode(torch.from_numpy(random_codes)).numpy()
    diffs = {
        "reconstruct": max_diff(rec, want_rec),
        "encode": max_diff(codes, want_codes),
        "decode": max(max_diff(dec, want_dec), max_diff(dec_random, want_dec_random)),
    }
    spreads = (want_codes.std(axis=0).max(), want_dec_random.std(axis=0).max())
    print(
        f"\n{name}: "
        + ", ".join(f"{k} {v:.3g}" for k, v in diffs.items())
        + f" (spread of codes, decodings: {spreads[0]:.3g}, {spreads[1]:.3g})"
    )
    for what, d in diffs.items():
        assert d <= TOL, f"{what} differs from ae's by {d}"
    assert rec.dtype == np.float32 and codes.shape == (len(x), m.code_dim)
    assert min(spreads) > 100 * TOL, f"a model whose codes or outputs are constant tests little {spreads}"


@needs_ae
def test_missing_values_are_filled_as_ae_fills_them(tmp_path):
    x = np.random.default_rng(2).normal(size=(120, 5)).astype(np.float32)
    x[3::9, 2] = np.nan
    np.save(tmp_path / "x.npy", x)
    model = tmp_path / "m.safetensors"
    ae("train", tmp_path / "x.npy", "--layers", "4,2", "--epochs", 3, "--threads", 1, "--missing", "mean",
       "--no-plots", "-q", "-o", model)
    ae("reconstruct", model, tmp_path / "x.npy", "-o", tmp_path / "rec.npy", "--threads", 1)
    m = T.to_torch(model.read_bytes())
    assert m.norm_fill.shape == (5,)
    with torch.no_grad():
        rec = m(torch.from_numpy(x)).numpy()
    assert max_diff(rec, np.load(tmp_path / "rec.npy")) <= TOL


@needs_ae
def test_image_models_take_nchw_rows_too(tmp_path):
    model_path, data, x = train(tmp_path, "img", MODELS["conv_bn_pool"][1])
    m = T.to_torch(model_path.read_bytes())
    with torch.no_grad():
        flat = m(torch.from_numpy(x))
        nchw = m(torch.from_numpy(x).reshape(-1, 1, 8, 8))
    assert nchw.shape == (len(x), 1, 8, 8)
    assert torch.equal(nchw.reshape(len(x), -1), flat)
    with pytest.raises(ValueError, match=r"expected rows of shape \(n, 64\)"):
        m(torch.zeros(3, 10))


@needs_ae
def test_variational_forward_uses_the_mean(tmp_path):
    model_path, _, x = train(tmp_path, "unit", MODELS["variational"][1])
    m = T.to_torch(model_path.read_bytes())
    xt = torch.from_numpy(x)
    with torch.no_grad():
        mu, logvar = m.encode_stats(xt)
        assert torch.equal(mu, m.encode(xt))
        assert torch.equal(m(xt), m.decode(mu))
        m.train()  # even in training mode the forward pass does not sample
        assert torch.equal(m(xt), m.decode(mu))
    assert logvar.shape == mu.shape == (len(x), 4)
    z = m.reparameterize(mu, logvar)
    assert z.shape == mu.shape and not torch.equal(z, mu)


@needs_ae
def test_parameters_can_be_fine_tuned_and_tied_weights_are_shared(tmp_path):
    model_path, _, x = train(tmp_path, "wide", MODELS["tied"][1])
    m = T.to_torch(model_path.read_bytes())
    names = dict(m.named_parameters())
    # 10 → 8 → 3 → 8 → 10: the two decoder weights are the encoder's, transposed.
    assert set(names) == {
        "encoder.0.weight",
        "encoder.0.bias",
        "encoder.1.weight",
        "encoder.1.bias",
        "decoder.0.bias",
        "decoder.1.bias",
    }
    assert all(p.requires_grad for p in names.values())
    assert torch.equal(m.decoder[0].weight, m.encoder[1].weight.t())
    assert set(dict(m.named_buffers())) == {"norm_offset", "norm_scale"}

    xt = torch.from_numpy(x)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    before = m(xt).detach()
    loss = ((m.reconstruct_normalized(xt) - m.normalize(xt)) ** 2).mean()
    loss.backward()
    opt.step()
    assert not torch.equal(m(xt).detach(), before)
    assert torch.equal(m.decoder[1].weight, m.encoder[0].weight.t()), "still tied after a step"

    twin = copy.deepcopy(m)
    assert twin.decoder[0].weight.data_ptr() == twin.encoder[1].weight.data_ptr()
    assert twin.decoder[0].weight.data_ptr() != m.encoder[1].weight.data_ptr()


@needs_ae
def test_batch_norm_and_conv_weights_are_loaded_in_torch_layout(tmp_path):
    model_path, _, _ = train(tmp_path, "img", MODELS["conv_bn_pool"][1])
    data = model_path.read_bytes()
    header, _, body = T._read_safetensors(data)
    m = T.to_torch(data)
    w = T._tensor(header, body, "encoder.0.weight", [2, 3, 3, 1])  # out × k × k × in
    assert torch.equal(m.encoder[0].weight, torch.from_numpy(w.transpose(0, 3, 1, 2).copy()))
    rv = T._tensor(header, body, "encoder.1.running_var", [2])
    assert torch.equal(m.encoder[1].running_var, torch.from_numpy(rv))
    assert not torch.equal(m.encoder[1].running_var, torch.ones(2)), "training moved the running statistics"
    assert m.encoder[1].eps == 1e-5


# --- files it cannot convert ---------------------------------------------------------


def rebuild(data, edit_meta=None, edit_header=None, body=None):
    """A model file's bytes with its metadata or header changed."""
    header, meta, old_body = T._read_safetensors(data)
    header = dict(header)
    meta = dict(meta)
    if edit_meta:
        edit_meta(meta)
    if edit_header:
        edit_header(header)
    header["__metadata__"] = meta
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + bytes(old_body if body is None else body)


@needs_ae
def test_files_it_cannot_convert_are_refused_clearly(tmp_path):
    model_path, _, _ = train(tmp_path, "unit", DENSE)
    good = model_path.read_bytes()
    T.to_torch(good)

    def refused(data, pattern):
        with pytest.raises(ValueError, match=pattern):
            T.to_torch(data)

    refused(b"hello", "too short")
    refused(b"hello world, not a model", "not a safetensors file")
    refused(good[: len(good) // 2], r"the file holds \d+ \(truncated\?\)")
    refused(good + b"\0" * 8, "truncated")
    refused(rebuild(good, edit_meta=lambda m: m.pop("format")), "no `format` key")
    refused(
        rebuild(good, edit_meta=lambda m: m.update(format="autoencoder-checkpoint/1")),
        "is not an autoencoder model file",
    )

    def add_key(m):
        cfg = json.loads(m["config"])
        cfg["attention"] = True
        m["config"] = json.dumps(cfg)

    refused(rebuild(good, edit_meta=add_key), "does not know: attention")

    def bad_act(m):
        cfg = json.loads(m["config"])
        cfg["activation"] = "swish"
        m["config"] = json.dumps(cfg)

    refused(rebuild(good, edit_meta=bad_act), "activation")

    def rename(h):
        h["decoder.1.weight_renamed"] = h.pop("decoder.1.weight")

    refused(rebuild(good, edit_header=rename), "tensor `decoder.1.weight` is missing")
    refused(rebuild(good, edit_header=lambda h: h.pop("decoder.1.weight")), "starts at byte")

    def reshape(h):
        h["encoder.0.bias"] = dict(h["encoder.0.bias"], shape=[4, 4])

    refused(
        rebuild(good, edit_header=reshape), r"tensor `encoder.0.bias` is F32 \[4, 4\], expected F32 \[16\]"
    )

    header, _, body = T._read_safetensors(good)
    start = header["encoder.0.weight"]["data_offsets"][0]
    poisoned = bytearray(body)
    poisoned[start + 4 * 3 : start + 4 * 4] = struct.pack("<f", float("nan"))
    refused(rebuild(good, body=poisoned), "tensor `encoder.0.weight` holds nan at index 3")

    with pytest.raises(TypeError, match="bytes of a model file"):
        T.to_torch(str(model_path))


@needs_ae
def test_tied_copies_that_disagree_are_refused(tmp_path):
    model_path, _, _ = train(tmp_path, "wide", MODELS["tied"][1])
    good = model_path.read_bytes()
    header, _, body = T._read_safetensors(good)
    start = header["decoder.1.weight"]["data_offsets"][0]
    edited = bytearray(body)
    edited[start : start + 4] = struct.pack("<f", 123.0)
    with pytest.raises(ValueError, match="not the transpose"):
        T.to_torch(rebuild(good, body=edited))


def test_without_torch_to_torch_raises_import_error(monkeypatch):
    monkeypatch.setattr(T, "torch", None)
    with pytest.raises(ImportError, match=r"^to_torch needs PyTorch: pip install torch$"):
        T.to_torch(b"anything")
