"""Convert a model file written by ``ae train`` into a PyTorch ``nn.Module``.

The model file is a safetensors file: an 8-byte little-endian header length, a JSON
header naming every tensor (``dtype``, ``shape``, ``data_offsets``) with a
``__metadata__`` map of strings (``format``, ``config``, ``normalizer``, and
optionally ``training``, ``threshold``, ``codec``), then the raw little-endian bytes.
It is parsed here with :mod:`json` and :mod:`numpy` alone, so neither the
``safetensors`` package nor the compiled ``_core`` extension is needed.

The module returned by :func:`to_torch` computes what ``ae`` computes:

* ``module(x)`` is ``ae reconstruct``: the stored normaliser applied to the raw rows,
  every layer (dropout is the identity, batch normalisation uses its running
  statistics, a variational code is its mean μ), the output activation, then the
  normaliser inverted, so the result is in the units of ``x``;
* ``module.encode(x)`` is ``ae encode`` (μ for a variational model);
* ``module.decode(z)`` is ``ae decode`` (in raw units).

Its parameters are ``nn.Parameter`` objects, so the model can be fine-tuned in
PyTorch; the normaliser lives in buffers. Nothing here imports ``_core``, and the
module can be imported without PyTorch: only :func:`to_torch` needs it.
"""

from __future__ import annotations

import json
import math
import struct

try:  # NumPy and PyTorch are optional: only to_torch needs them.
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    torch = None
    nn = None
    F = None

__all__ = ["to_torch"]

#: The value of the ``format`` metadata key of a model file.
FORMAT = "autoencoder/1"

#: Batch normalisation's ε, as the library's ``BatchNorm2d`` (``layers/batch_norm2d.rs``).
BATCH_NORM_EPS = 1e-5
#: Batch normalisation's running-statistics momentum (PyTorch's convention).
BATCH_NORM_MOMENTUM = 0.1
#: The negative slope of ``leaky_relu`` (``activation.rs``).
LEAKY_RELU_SLOPE = 0.01
#: ``log σ²`` is clamped to ``[-LOGVAR_LIMIT, LOGVAR_LIMIT]`` before ``σ = exp(½ log σ²)``.
LOGVAR_LIMIT = 30.0
#: The largest kernel side the library accepts.
MAX_KERNEL = 15

ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus")
NORMALIZERS = ("none", "minmax", "zscore")

# Every key ModelConfig has (it refuses unknown ones) and its default when the file
# leaves it out (the conv fields are skipped when they hold their default).
_CONFIG_DEFAULTS = {
    "input_dim": 0,
    "layers": [64],
    "decoder_layers": None,
    "activation": "relu",
    "code_activation": None,
    "output_activation": "sigmoid",
    "init": "glorot_uniform",
    "normalize": "none",
    "image_shape": None,
    "variational": False,
    "dropout": 0.0,
    "tied": False,
    "arch": "dense",
    "channels": [],
    "kernel_size": 3,
    "downsample": "stride",
    "batch_norm": False,
    "score": None,
}

_MAX_HEADER = 100 << 20

# Bytes per value of each safetensors dtype.
_DTYPE_SIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}


_EXPECTED = " (expected a .safetensors file written by `ae train`)"


def _refuse(why):
    return ValueError(f"cannot convert this model file to PyTorch: {why}")


# --------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------


def _read_safetensors(data):
    """Split safetensors bytes into (header dict without metadata, metadata, data bytes)."""
    if len(data) < 8:
        raise _refuse(f"{len(data)} bytes is too short for a safetensors file{_EXPECTED}")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise _refuse(
            f"not a safetensors file: its header claims {n} bytes, "
            f"the file holds {len(data) - 8} after the length{_EXPECTED}"
        )
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _refuse(f"not a safetensors file: its header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise _refuse("not a safetensors file: its header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _refuse("the header's __metadata__ is not a map of strings")
    body = memoryview(data)[8 + n :]
    # As the safetensors format requires (and its Rust reader checks): the tensors'
    # byte ranges follow each other from 0 to the end of the file, each the size its
    # dtype and shape say. A truncated or padded file fails here.
    spans = []
    for name, entry in header.items():
        ok = isinstance(entry, dict) and entry.get("dtype") in _DTYPE_SIZES
        shape, offsets = (entry.get("shape"), entry.get("data_offsets")) if ok else (None, None)
        ok = ok and isinstance(shape, list) and all(_is_int(s) for s in shape)
        ok = ok and isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
        if not ok:
            raise _refuse(
                f"not a safetensors file: the header's entry `{name}` is not {{dtype, shape, data_offsets}}"
            )
        if offsets[1] - offsets[0] != math.prod(shape) * _DTYPE_SIZES[entry["dtype"]]:
            raise _refuse(f"tensor `{name}`: data offsets {offsets} do not hold {entry['dtype']} {shape}")
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for start, stop, name in sorted(spans):
        if start != end:
            raise _refuse(
                f"not a valid safetensors file: tensor `{name}` starts at byte {start}, expected {end}"
            )
        end = stop
    if end != len(body):
        raise _refuse(
            f"not a valid safetensors file: its tensors take {end} bytes, "
            f"the file holds {len(body)} (truncated?)"
        )
    return header, meta, body


def _tensor(header, body, name, shape):
    """The F32 tensor ``name`` of ``shape`` as a float32 array, or ValueError."""
    entry = header.get(name)
    if not isinstance(entry, dict):
        raise _refuse(f"tensor `{name}` is missing")
    dtype, got, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype != "F32" or list(got or []) != list(shape):
        raise _refuse(f"tensor `{name}` is {dtype} {got}, expected F32 {list(shape)}")
    # _read_safetensors checked that the offsets lie in the file and fit dtype and shape.
    values = np.frombuffer(body[offsets[0] : offsets[1]], dtype="<f4").astype(np.float32).reshape(shape)
    bad = ~np.isfinite(values)
    if name.endswith(".running_var"):
        bad |= values < 0
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        raise _refuse(f"tensor `{name}` holds {values.reshape(-1)[i]} at index {i}")
    return values


def _json_metadata(meta, key):
    if key not in meta:
        raise _refuse(f"the metadata has no `{key}` entry")
    try:
        return json.loads(meta[key])
    except ValueError as e:
        raise _refuse(f"the `{key}` metadata is not JSON ({e})") from None


def _is_int(v, lo=0):
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _config(meta):
    """The model configuration with defaults filled in, checked as the library does."""
    raw = _json_metadata(meta, "config")
    if not isinstance(raw, dict):
        raise _refuse("the `config` metadata is not a JSON object")
    unknown = sorted(set(raw) - set(_CONFIG_DEFAULTS))
    if unknown:
        raise _refuse(
            f"the configuration has settings this converter does not know: {', '.join(unknown)} "
            "(a newer file format?)"
        )
    cfg = dict(_CONFIG_DEFAULTS)
    cfg.update(raw)

    def bad(field, why):
        return _refuse(f"invalid configuration `{field}`: {why}")

    if not _is_int(cfg["input_dim"], 1):
        raise bad("input_dim", f"{cfg['input_dim']!r} is not a positive width")
    for field in ("layers", "decoder_layers", "channels"):
        v = cfg[field]
        if v is None and field == "decoder_layers":
            continue
        if not isinstance(v, list) or not all(_is_int(w, 1) for w in v):
            raise bad(field, f"{v!r} is not a list of positive widths")
    if not cfg["layers"]:
        raise bad("layers", "at least one width (the code size) is needed")
    for field in ("activation", "output_activation", "code_activation"):
        v = cfg[field]
        if v is None and field == "code_activation":
            continue
        if v not in ACTIVATIONS:
            raise bad(field, f"{v!r} is not one of {', '.join(ACTIVATIONS)}")
    if cfg["normalize"] not in NORMALIZERS:
        raise bad("normalize", f"{cfg['normalize']!r} is not one of {', '.join(NORMALIZERS)}")
    if cfg["arch"] not in ("dense", "conv"):
        raise bad("arch", f"{cfg['arch']!r} is not dense or conv")
    if cfg["downsample"] not in ("stride", "pool"):
        raise bad("downsample", f"{cfg['downsample']!r} is not stride or pool")
    for field in ("variational", "tied", "batch_norm"):
        if not isinstance(cfg[field], bool):
            raise bad(field, f"{cfg[field]!r} is not true or false")
    d = cfg["dropout"]
    if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 <= d < 1.0:
        raise bad("dropout", f"{d!r} must be in [0, 1)")
    if not _is_int(cfg["kernel_size"], 1) or cfg["kernel_size"] > MAX_KERNEL:
        raise bad("kernel_size", f"{cfg['kernel_size']!r} must be between 1 and {MAX_KERNEL}")
    shape = cfg["image_shape"]
    if shape is not None:
        if (
            not isinstance(shape, dict)
            or set(shape) != {"channels", "height", "width"}
            or not all(_is_int(shape[k], 1) for k in shape)
        ):
            raise bad("image_shape", f"{shape!r} is not {{channels, height, width}}")
        if shape["channels"] * shape["height"] * shape["width"] != cfg["input_dim"]:
            raise bad("image_shape", f"{shape} does not hold {cfg['input_dim']} values")
    if cfg["arch"] == "conv":
        if shape is None:
            raise bad("arch", "a conv model needs an image shape")
        if not cfg["channels"]:
            raise bad("channels", "a conv model needs its blocks' channels")
        if cfg["decoder_layers"] is not None or cfg["tied"]:
            raise bad("arch", "a conv model's decoder mirrors its encoder (no decoder_layers, no tied)")
    elif cfg["channels"] or cfg["batch_norm"]:
        raise bad("channels", "channels and batch_norm are for conv models")
    mirrored = list(reversed(cfg["layers"]))[1:]
    if cfg["tied"] and (
        cfg["variational"] or (cfg["decoder_layers"] is not None and cfg["decoder_layers"] != mirrored)
    ):
        raise bad("tied", "tied weights need a mirrored decoder and a model that is not variational")
    if cfg["variational"] and cfg["code_activation"] not in (None, "linear"):
        raise bad("code_activation", "a variational model's code has no activation")
    return cfg


def _normalizer(meta, input_dim):
    """(kind, offset, scale, fill) of the stored normaliser, checked as the library
    does; ``fill`` (each feature's training mean, put in place of a NaN) is ``None``
    for a model trained without missing values."""
    raw = _json_metadata(meta, "normalizer")
    if not isinstance(raw, dict) or not {"kind", "offset", "scale"} <= set(raw) <= {"kind", "offset", "scale", "fill"}:
        raise _refuse("the `normalizer` metadata is not {kind, offset, scale[, fill]}")
    kind = raw["kind"]
    if kind not in NORMALIZERS:
        raise _refuse(f"the normaliser {kind!r} is not one of {', '.join(NORMALIZERS)}")
    fill = None
    if "fill" in raw:
        try:
            fill = np.asarray(raw["fill"], dtype=np.float64).astype(np.float32)
        except (TypeError, ValueError):
            raise _refuse("the normaliser's fill is not a list of numbers") from None
        if fill.shape != (input_dim,) or not np.isfinite(fill).all():
            raise _refuse(f"the normaliser's fill is not {input_dim} finite numbers")
    if kind == "none":
        return kind, None, None, fill
    try:
        offset = np.asarray(raw["offset"], dtype=np.float64).astype(np.float32)
        scale = np.asarray(raw["scale"], dtype=np.float64).astype(np.float32)
    except (TypeError, ValueError):
        raise _refuse("the normaliser's offset and scale are not lists of numbers") from None
    if offset.shape != (input_dim,) or scale.shape != (input_dim,):
        raise _refuse(
            f"the normaliser has {offset.size} offsets and {scale.size} scales for rows of {input_dim} values"
        )
    tiny = np.finfo(np.float32).tiny
    bad = ~np.isfinite(offset) | ~np.isfinite(scale) | (scale < tiny)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise _refuse(
            f"the normaliser's offset {offset[j]} or scale {scale[j]} at feature index {j} is impossible"
        )
    return kind, offset, scale, fill


# --------------------------------------------------------------------------------------
# The layer plan (model/plan.rs)
# --------------------------------------------------------------------------------------


def _side(n, k, stride, pad):
    """Kernel positions along a side of ``n`` pixels, or None when the kernel does not fit."""
    if n + 2 * pad < k:
        return None
    return (n + 2 * pad - k) // stride + 1


def _plan(cfg):
    """Every layer the configuration implies, as dicts, and the encoder's length.

    Mirrors ``ModelConfig::plan``. The library keeps maps channels-last (``H×W×C``)
    between convolutional layers and reads/writes the image rows channels-first, so
    the dense layer right after the convolutional encoder flattens ``H×W×C`` and the
    one before the decoder's blocks writes ``H×W×C``; the torch layers record that as
    ``flatten_from`` / ``unflatten_to`` so that their weights stay as in the file.
    """
    act, out_act = cfg["activation"], cfg["output_activation"]
    p = float(cfg["dropout"])
    layers, mirror = [], []
    width = cfg["input_dim"]
    conv_map = None
    if cfg["arch"] == "conv":
        s = cfg["image_shape"]
        c, h, w = s["channels"], s["height"], s["width"]
        k = cfg["kernel_size"]
        pad = (k - 1) // 2
        stride = 2 if cfg["downsample"] == "stride" else 1
        for i, ch in enumerate(cfg["channels"]):
            oh, ow = _side(h, k, stride, pad), _side(w, k, stride, pad)
            if oh is None or ow is None:
                raise _refuse(f"conv block {i + 1}: a {k}×{k} kernel does not fit its {h}×{w} input")
            conv = dict(kind="conv", cin=c, cout=ch, k=k, stride=stride, pad=pad)
            if cfg["batch_norm"]:
                layers.append(dict(conv, act="linear"))
                layers.append(dict(kind="bn", channels=ch, act=act))
            else:
                layers.append(dict(conv, act=act))
            mirror.append((c, h, w, oh, ow))
            c, h, w = ch, oh, ow
            if cfg["downsample"] == "pool":
                if h < 2 or w < 2 or h % 2 or w % 2:
                    raise _refuse(f"conv block {i + 1}: 2×2 max pooling of a {h}×{w} map")
                layers.append(dict(kind="maxpool"))
                h, w = h // 2, w // 2
            if p > 0:
                layers.append(dict(kind="dropout", p=p))
        width = c * h * w
        conv_map = (c, h, w)
    code_layer = len(cfg["layers"]) - 1
    encoder_len = 0
    flatten = conv_map
    for i, out in enumerate(cfg["layers"]):
        if i == code_layer:
            if cfg["variational"]:
                outputs, a = 2 * out, "linear"
            else:
                outputs, a = out, cfg["code_activation"] or act
            layers.append(dict(kind="dense", inputs=width, outputs=outputs, act=a, flatten_from=flatten))
            if cfg["variational"]:
                layers.append(dict(kind="sample", code=out))
            encoder_len = len(layers)
        else:
            layers.append(dict(kind="dense", inputs=width, outputs=out, act=act, flatten_from=flatten))
            if p > 0:
                layers.append(dict(kind="dropout", p=p))
        flatten = None
        width = out
    decoder = (
        cfg["decoder_layers"] if cfg["decoder_layers"] is not None else list(reversed(cfg["layers"]))[1:]
    )
    for out in decoder:
        layers.append(dict(kind="dense", inputs=width, outputs=out, act=act))
        if p > 0:
            layers.append(dict(kind="dropout", p=p))
        width = out
    if not mirror:
        layers.append(dict(kind="dense", inputs=width, outputs=cfg["input_dim"], act=out_act))
        return layers, encoder_len
    c_last, mh, mw = conv_map
    layers.append(dict(kind="dense", inputs=width, outputs=c_last * mh * mw, act=act, unflatten_to=conv_map))
    if p > 0:
        layers.append(dict(kind="dropout", p=p))
    k = cfg["kernel_size"]
    pad = (k - 1) // 2
    for i in reversed(range(len(mirror))):
        c, h, w, gh, gw = mirror[i]
        ch = cfg["channels"][i]
        a = out_act if i == 0 else act
        if cfg["downsample"] == "stride":
            stride = 2
        else:
            layers.append(dict(kind="upsample"))
            stride = 1
        # The transposed convolution maps the grid gh×gw back to h×w: PyTorch's
        # output_padding picks which of the `stride` sizes that convolve to gh×gw.
        if _side(h, k, stride, pad) != gh or _side(w, k, stride, pad) != gw:
            raise _refuse(
                f"decoder block {len(mirror) - i}: a {k}×{k} transposed convolution "
                f"cannot map {gh}×{gw} back to {h}×{w}"
            )
        op = (h - ((gh - 1) * stride - 2 * pad + k), w - ((gw - 1) * stride - 2 * pad + k))
        convt = dict(kind="convt", cin=ch, cout=c, k=k, stride=stride, pad=pad, output_padding=op)
        if cfg["batch_norm"] and i > 0:
            layers.append(dict(convt, act="linear"))
            layers.append(dict(kind="bn", channels=c, act=a))
        else:
            layers.append(dict(convt, act=a))
        if i > 0 and p > 0:
            layers.append(dict(kind="dropout", p=p))
    return layers, encoder_len


# --------------------------------------------------------------------------------------
# The PyTorch layers (defined only when PyTorch is importable)
# --------------------------------------------------------------------------------------


def _activation(name):
    """The ``nn.Module`` of the library's activation ``name`` (same constants)."""
    return {
        "linear": nn.Identity,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(LEAKY_RELU_SLOPE),
        "elu": lambda: nn.ELU(alpha=1.0),
        "gelu": lambda: nn.GELU(approximate="none"),  # the exact (erf) form
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "softplus": nn.Softplus,
    }[name]()


if torch is not None:

    def _hwc_flatten(x):
        """NCHW maps to rows in the library's channels-last order (``H×W×C``)."""
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    def _hwc_unflatten(y, chw):
        """Rows in channels-last order (``H×W×C``) to NCHW maps."""
        c, h, w = chw
        return y.reshape(y.shape[0], h, w, c).permute(0, 3, 1, 2)

    class Dense(nn.Linear):
        """A dense layer ``y = f(x·Wᵀ + b)`` (``W`` is ``out × in``, as in the file).

        ``flatten_from=(C, H, W)``: the input is an NCHW map, flattened channels-last
        first; ``unflatten_to=(C, H, W)``: the output is reshaped from channels-last
        rows to an NCHW map. That is how the library joins convolutional and dense
        layers, so the weights are used exactly as stored.
        """

        def __init__(self, inputs, outputs, activation, flatten_from=None, unflatten_to=None):
            super().__init__(inputs, outputs)
            self.activation = _activation(activation)
            self.flatten_from = tuple(flatten_from) if flatten_from else None
            self.unflatten_to = tuple(unflatten_to) if unflatten_to else None

        def forward(self, x):
            if self.flatten_from is not None:
                x = _hwc_flatten(x)
            y = self.activation(F.linear(x, self.weight, self.bias))
            if self.unflatten_to is not None:
                y = _hwc_unflatten(y, self.unflatten_to)
            return y

    class TiedDense(nn.Module):
        """A decoder layer whose weight is the transpose of an encoder ``Dense``'s.

        Only the bias is its own parameter; the weight is read from the encoder layer
        at every call, so fine-tuning updates one shared matrix (the library keeps an
        exact transposed copy in the file and trains it with the summed gradient,
        which is the same thing).
        """

        def __init__(self, source, activation):
            super().__init__()
            self._source = (source,)  # a tuple, so the encoder layer is not registered twice
            self.bias = nn.Parameter(torch.zeros(source.in_features))
            self.activation = _activation(activation)

        @property
        def weight(self):
            """The shared weight, ``out × in``: the encoder layer's, transposed."""
            return self._source[0].weight.t()

        def forward(self, x):
            return self.activation(F.linear(x, self.weight, self.bias))

        def extra_repr(self):
            s = self._source[0]
            return f"in_features={s.out_features}, out_features={s.in_features}, tied=True"

    class Conv(nn.Conv2d):
        """A convolution then an activation. The file stores the weight ``out × k × k ×
        in``; here it is PyTorch's ``out × in × k × k`` (``permute(0, 3, 1, 2)``)."""

        def __init__(self, cin, cout, k, stride, pad, activation):
            super().__init__(cin, cout, k, stride=stride, padding=pad)
            self.activation = _activation(activation)

        def forward(self, x):
            return self.activation(super().forward(x))

    class ConvTranspose(nn.ConvTranspose2d):
        """A transposed convolution then an activation. The file stores the weight
        ``in × k × k × out``; here it is PyTorch's ``in × out × k × k``
        (``permute(0, 3, 1, 2)``)."""

        def __init__(self, cin, cout, k, stride, pad, output_padding, activation):
            super().__init__(cin, cout, k, stride=stride, padding=pad, output_padding=output_padding)
            self.activation = _activation(activation)

        def forward(self, x):
            return self.activation(super().forward(x))

    class BatchNorm(nn.BatchNorm2d):
        """Batch normalisation (ε = 1e-5, momentum 0.1, unbiased running variance, as
        the library) then an activation; running statistics in eval mode."""

        def __init__(self, channels, activation):
            super().__init__(channels, eps=BATCH_NORM_EPS, momentum=BATCH_NORM_MOMENTUM)
            self.activation = _activation(activation)

        def forward(self, x):
            return self.activation(super().forward(x))

    class MeanCode(nn.Module):
        """A variational model's sampling layer at inference: of the ``2k`` values
        ``(μ, log σ²)`` it keeps μ, the code ``ae encode`` and ``ae reconstruct`` use."""

        def __init__(self, code):
            super().__init__()
            self.code = code

        def forward(self, x):
            return x[:, : self.code]

        def extra_repr(self):
            return f"code={self.code}"

    class AutoencoderModule(nn.Module):
        """A model file as a PyTorch module. Build it with :func:`to_torch`.

        ``forward(x)`` reconstructs raw rows as ``ae reconstruct`` does, ``encode`` and
        ``decode`` are ``ae encode`` and ``ae decode``. Rows are float32 tensors of
        shape ``(n, input_dim)``; a model trained on images also takes ``(n, C, H, W)``
        and then answers in that shape.

        ``encoder`` and ``decoder`` are ``nn.Sequential`` stacks whose indices are the
        file's (``encoder.0.weight`` …), one module per library layer, the activation
        inside it. The normaliser ``(x − offset)·scale`` is kept in the buffers
        ``norm_offset`` and ``norm_scale`` (empty when there is none), and the fill of a
        model trained with missing values in ``norm_fill``.

        For fine-tuning as the library trains: the loss compares
        :meth:`reconstruct_normalized` with :meth:`normalize` ``(x)``; call ``train()``
        for dropout and batch statistics. A variational model's :meth:`forward`
        always uses μ; use :meth:`encode_stats` and :meth:`reparameterize` to sample.
        """

        def __init__(self, cfg, layers, encoder_len, normalizer):
            super().__init__()
            #: The model configuration, as stored in the file (defaults filled in).
            self.config = cfg
            self.input_dim = cfg["input_dim"]
            self.code_dim = cfg["layers"][-1]
            self.variational = cfg["variational"]
            shape = cfg["image_shape"]
            self.image_shape = (shape["channels"], shape["height"], shape["width"]) if shape else None
            self.conv = cfg["arch"] == "conv"
            kind, offset, scale, fill = normalizer
            #: The normaliser's kind: ``none``, ``minmax`` or ``zscore``.
            self.normalizer = kind
            self.register_buffer("norm_fill", torch.from_numpy(fill) if fill is not None else torch.zeros(0))
            self.register_buffer(
                "norm_offset", torch.from_numpy(offset) if offset is not None else torch.zeros(0)
            )
            self.register_buffer(
                "norm_scale", torch.from_numpy(scale) if scale is not None else torch.zeros(0)
            )
            self.encoder = nn.Sequential(*layers[:encoder_len])
            self.decoder = nn.Sequential(*layers[encoder_len:])

        # -- the normaliser --------------------------------------------------------

        def normalize(self, x):
            """Raw rows ``(n, input_dim)`` to the normalised space: ``(x − offset)·scale``,
            a missing value (NaN) first replaced by ``norm_fill`` (its feature's training
            mean) when the model was trained with ``missing="mean"``."""
            if self.norm_fill.numel():
                x = torch.where(torch.isnan(x), self.norm_fill, x)
            if self.normalizer == "none":
                return x
            return (x - self.norm_offset) * self.norm_scale

        def denormalize(self, y):
            """Normalised rows back to raw units: ``y / scale + offset``."""
            if self.normalizer == "none":
                return y
            return y / self.norm_scale + self.norm_offset

        # -- shapes ----------------------------------------------------------------

        def _rows(self, x):
            if not torch.is_tensor(x):
                x = torch.as_tensor(np.asarray(x, dtype=np.float32))
            if x.dim() == 2 and x.shape[1] == self.input_dim:
                return x, None
            if self.image_shape is not None and x.dim() == 4 and tuple(x.shape[1:]) == self.image_shape:
                return x.reshape(x.shape[0], -1), x.shape
            want = f"(n, {self.input_dim})"
            if self.image_shape is not None:
                want += f" or (n, {', '.join(map(str, self.image_shape))})"
            raise ValueError(f"expected rows of shape {want}, got {tuple(x.shape)}")

        def _in(self, rows):
            if self.conv:
                return rows.reshape(rows.shape[0], *self.image_shape)
            return rows

        def _out(self, y):
            return y.reshape(y.shape[0], -1) if y.dim() > 2 else y

        # -- the model ---------------------------------------------------------------

        def encode(self, x):
            """The codes of raw rows, ``(n, code_dim)``: ``ae encode`` (μ for a VAE)."""
            rows, _ = self._rows(x)
            return self.encoder(self._in(self.normalize(rows)))

        def encode_stats(self, x):
            """A variational model's ``(μ, log σ²)`` for raw rows, each ``(n, code_dim)``."""
            if not self.variational:
                raise ValueError("encode_stats is for variational models; this one is not")
            rows, _ = self._rows(x)
            h = self.encoder[:-1](self._in(self.normalize(rows)))
            return h[:, : self.code_dim], h[:, self.code_dim :]

        @staticmethod
        def reparameterize(mu, logvar):
            """A sample ``z = μ + σ·ε`` with ``σ = exp(½·clamp(log σ², ±30))``, as the library trains."""
            sigma = torch.exp(0.5 * logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT))
            return mu + sigma * torch.randn_like(mu)

        def decode_normalized(self, z):
            """The decoder's output for codes ``z`` in the normalised space."""
            if not torch.is_tensor(z):
                z = torch.as_tensor(np.asarray(z, dtype=np.float32))
            if z.dim() != 2 or z.shape[1] != self.code_dim:
                raise ValueError(f"expected codes of shape (n, {self.code_dim}), got {tuple(z.shape)}")
            return self._out(self.decoder(z))

        def decode(self, z):
            """Rows in raw units for codes ``z`` ``(n, code_dim)``: ``ae decode``."""
            return self.denormalize(self.decode_normalized(z))

        def reconstruct_normalized(self, x):
            """Reconstructions of raw rows in the normalised space the model trained in."""
            rows, _ = self._rows(x)
            return self._out(self.decoder(self.encoder(self._in(self.normalize(rows)))))

        def forward(self, x):
            """Reconstructions of raw rows in raw units: ``ae reconstruct``."""
            rows, shape = self._rows(x)
            y = self.denormalize(self._out(self.decoder(self.encoder(self._in(self.normalize(rows))))))
            return y.reshape(shape) if shape is not None else y


def _build(cfg, plan, encoder_len, header, body, normalizer):
    """The ``AutoencoderModule`` of ``plan`` with the file's tensors loaded."""
    modules = []
    for kind, spec in ((s["kind"], s) for s in plan):
        if kind == "dense":
            modules.append(
                Dense(
                    spec["inputs"],
                    spec["outputs"],
                    spec["act"],
                    spec.get("flatten_from"),
                    spec.get("unflatten_to"),
                )
            )
        elif kind == "conv":
            modules.append(
                Conv(spec["cin"], spec["cout"], spec["k"], spec["stride"], spec["pad"], spec["act"])
            )
        elif kind == "convt":
            modules.append(
                ConvTranspose(
                    spec["cin"],
                    spec["cout"],
                    spec["k"],
                    spec["stride"],
                    spec["pad"],
                    spec["output_padding"],
                    spec["act"],
                )
            )
        elif kind == "bn":
            modules.append(BatchNorm(spec["channels"], spec["act"]))
        elif kind == "maxpool":
            modules.append(nn.MaxPool2d(2))
        elif kind == "upsample":
            modules.append(nn.Upsample(scale_factor=2, mode="nearest"))
        elif kind == "dropout":
            modules.append(nn.Dropout(spec["p"]))
        elif kind == "sample":
            modules.append(MeanCode(spec["code"]))
        else:  # pragma: no cover - the plan only makes the kinds above
            raise AssertionError(kind)

    def name(i):
        return f"encoder.{i}" if i < encoder_len else f"decoder.{i - encoder_len}"

    def put(param, values):
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(values)))

    # Tied pairs (Autoencoder::tied_weights): the m-th dense layer from the code down
    # with the m-th from the code up.
    tied = {}
    if cfg["tied"]:
        dense = [i for i, s in enumerate(plan) if s["kind"] == "dense"]
        m = len(dense) // 2
        tied = {dense[m + j]: dense[m - 1 - j] for j in range(m)}

    for i, spec in enumerate(plan):
        mod, n, kind = modules[i], name(i), spec["kind"]
        if kind == "dense":
            w = _tensor(header, body, f"{n}.weight", [spec["outputs"], spec["inputs"]])
            b = _tensor(header, body, f"{n}.bias", [spec["outputs"]])
            if i in tied:
                src = tied[i]
                src_w = _tensor(
                    header, body, f"{name(src)}.weight", [plan[src]["outputs"], plan[src]["inputs"]]
                )
                if not np.array_equal(w, src_w.T):
                    raise _refuse(
                        f"the tied weight `{n}.weight` is not the transpose of `{name(src)}.weight`"
                    )
                mod = TiedDense(modules[src], spec["act"])
                modules[i] = mod
            else:
                put(mod.weight, w)
            put(mod.bias, b)
        elif kind in ("conv", "convt"):
            first, last = ("cout", "cin") if kind == "conv" else ("cin", "cout")
            w = _tensor(header, body, f"{n}.weight", [spec[first], spec["k"], spec["k"], spec[last]])
            put(mod.weight, w.transpose(0, 3, 1, 2))
            put(mod.bias, _tensor(header, body, f"{n}.bias", [spec["cout"]]))
        elif kind == "bn":
            c = [spec["channels"]]
            put(mod.weight, _tensor(header, body, f"{n}.weight", c))
            put(mod.bias, _tensor(header, body, f"{n}.bias", c))
            put(mod.running_mean, _tensor(header, body, f"{n}.running_mean", c))
            put(mod.running_var, _tensor(header, body, f"{n}.running_var", c))
    model = AutoencoderModule(cfg, modules, encoder_len, normalizer)
    return model.eval()


def to_torch(file_bytes):
    """Convert the bytes of a model file written by ``ae train`` to a PyTorch module.

    Args:
        file_bytes: the whole content of the ``.safetensors`` model file, e.g.
            ``open("model.safetensors", "rb").read()`` (or ``Model.to_bytes()``).

    Returns:
        An ``AutoencoderModule`` (an ``nn.Module``) in eval mode, float32, on the CPU:
        ``module(x)`` equals ``ae reconstruct`` on the raw float32 rows ``x``
        ``(n, input_dim)``, ``module.encode(x)`` equals ``ae encode`` (μ for a
        variational model) and ``module.decode(z)`` equals ``ae decode``, up to
        float32 rounding. Every layer kind is supported: dense (tied or not),
        convolution, transposed convolution, max pooling, nearest upsampling,
        batch normalisation (running statistics), dropout (identity in eval mode), the
        variational code, the eight activations and the none/minmax/zscore normalisers.
        The weights are ``nn.Parameter`` objects (a tied decoder layer shares its
        encoder layer's weight), the normaliser is in buffers.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError: ``file_bytes`` is not bytes-like (a path, say).
        ValueError: the bytes are not a model file this converter can read (not
            safetensors, another ``format``, an invalid configuration, a missing or
            misshapen tensor, a NaN weight, …); the message says what is wrong.
    """
    if torch is None:
        raise ImportError("to_torch needs PyTorch: pip install torch")
    if np is None:  # pragma: no cover - PyTorch installs come with NumPy
        raise ImportError("to_torch needs NumPy: pip install numpy")
    if isinstance(file_bytes, str) or not isinstance(file_bytes, (bytes, bytearray, memoryview)):
        raise TypeError(
            "to_torch takes the bytes of a model file (open(path, 'rb').read()), "
            f"not {type(file_bytes).__name__}"
        )
    data = bytes(file_bytes)
    header, meta, body = _read_safetensors(data)
    fmt = meta.get("format")
    if fmt is None:
        raise _refuse("its metadata has no `format` key (expected a .safetensors file written by `ae train`)")
    if fmt != FORMAT:
        raise _refuse(f"format {fmt!r} is not an autoencoder model file ({FORMAT!r})")
    cfg = _config(meta)
    normalizer = _normalizer(meta, cfg["input_dim"])
    plan, encoder_len = _plan(cfg)
    return _build(cfg, plan, encoder_len, header, body, normalizer)
