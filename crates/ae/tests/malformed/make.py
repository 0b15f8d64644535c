#!/usr/bin/env python3
"""Generate the malformed-input corpus that `crates/ae/tests/malformed.rs` feeds to `ae`.

Run from anywhere: `python3 crates/ae/tests/malformed/make.py`. It rewrites every file in
this folder except itself (deterministically: the same bytes every run). With
`--fuzz-seeds DIR` it also writes small VALID files as seed corpora for the fuzz targets
(`DIR/<target>/seed-*`), e.g. `--fuzz-seeds fuzz/corpus`.

The prefix of a file's name says how the test runs it:
  data-*    ae train FILE --epochs 1 --layers 4 -o OUT
  model-*   ae inspect FILE
  ckpt-*    ae train --resume FILE --dataset synthetic ... -o OUT
  config-*  ae train --config FILE --dataset synthetic ... -o OUT

A name may be a folder (written from a dict of file names to bytes): the test gives the
folder to `ae` as it gives a file (`data-parquet-shards-*/`, a folder of Parquet shards).

The Parquet and Arrow files (here and as fuzz seeds) are written with pyarrow, which this
script therefore needs: run it with a Python that has pyarrow, e.g. the CI's virtual
environment, `target/ci-venv/bin/python crates/ae/tests/malformed/make.py`. Everything else
uses only the standard library (no numpy).
"""

import gzip
import io
import json
import os
import shutil
import struct
import sys
import zipfile
import zlib

try:
    import pyarrow as pa
    import pyarrow.ipc
    import pyarrow.parquet as pq
except ImportError:
    sys.exit("make.py: the Parquet and Arrow files need pyarrow; run it with a Python that has it, "
             "e.g. target/ci-venv/bin/python crates/ae/tests/malformed/make.py")

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------

def idx(dtype, dims, payload):
    return bytes([0, 0, dtype, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def gz(data):
    # mtime=0 so the bytes are the same every run.
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(data)
    return buf.getvalue()


def npy_header(dict_text, version=1):
    magic = b"\x93NUMPY" + bytes([version, 0])
    lenfmt = "<H" if version == 1 else "<I"
    prefix = len(magic) + struct.calcsize(lenfmt)
    text = dict_text.encode("latin1")
    pad = (-(prefix + len(text) + 1)) % 64
    text = text + b" " * pad + b"\n"
    return magic + struct.pack(lenfmt, len(text)) + text


def npy(descr, shape, data, fortran=False):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape_text)
    return npy_header(d) + data


def f32le(values):
    return b"".join(struct.pack("<f", v) for v in values)


def npz(members, compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compress
            z.writestr(info, data)
    return buf.getvalue()


def patch_zip_sizes(data, new_size):
    """Rewrite the declared uncompressed size of every member (local and central headers)."""
    b = bytearray(data)
    i = 0
    while True:
        i = b.find(b"PK\x03\x04", i)
        if i < 0:
            break
        struct.pack_into("<I", b, i + 22, new_size)
        i += 4
    i = 0
    while True:
        i = b.find(b"PK\x01\x02", i)
        if i < 0:
            break
        struct.pack_into("<I", b, i + 24, new_size)
        i += 4
    return bytes(b)


MODEL_CONFIG = {
    "input_dim": 3, "layers": [2], "decoder_layers": None, "activation": "relu", "code_activation": None,
    "output_activation": "sigmoid", "init": "glorot_uniform", "normalize": "none", "image_shape": None,
}
TRAIN_CONFIG = {
    "batch_size": 4, "clip_norm": None, "early_stopping": None, "epochs": 2, "l1": 0.0, "l2": 0.0,
    "loss": "mse",
    "optimizer": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-7, "kind": "adam", "lr": 0.001, "momentum": 0.0,
                  "nesterov": False, "rho": 0.9, "weight_decay": 0.0},
    "seed": 0, "shuffle": True, "tolerance": None, "validation_split": 0.0,
}
NORMALIZER = {"kind": "none", "offset": [], "scale": []}


def model_tensors(cfg):
    """(name, shape) of a dense autoencoder's tensors, as the library names them."""
    widths = [cfg["input_dim"]] + cfg["layers"] + list(reversed(cfg["layers"][:-1])) + [cfg["input_dim"]]
    n_enc = len(cfg["layers"])
    out = []
    for i in range(len(widths) - 1):
        side, k = ("encoder", i) if i < n_enc else ("decoder", i - n_enc)
        out.append(("%s.%d.weight" % (side, k), [widths[i + 1], widths[i]]))
        out.append(("%s.%d.bias" % (side, k), [widths[i + 1]]))
    return out


def safetensors(meta, tensors):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header = {}
    if meta is not None:
        header["__metadata__"] = meta
    off = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head += b" " * ((-(8 + len(head))) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(t[3] for t in tensors)


def values(n, seed=1):
    return f32le([((i * 37 + seed * 11) % 17) / 17.0 - 0.5 for i in range(n)])


def model_file(cfg=MODEL_CONFIG, fmt="autoencoder/1", extra_meta=None, config_text=None, shapes=None):
    meta = {"config": config_text if config_text is not None else json.dumps(cfg), "format": fmt,
            "normalizer": json.dumps(NORMALIZER)}
    meta.update(extra_meta or {})
    tensors = []
    for name, shape in model_tensors(cfg):
        if shapes and name in shapes:
            shape = shapes[name]
        n = 1
        for d in shape:
            n *= d
        tensors.append((name, "F32", shape, values(n)))
    return safetensors(meta, tensors)


def checkpoint(rows=8, order_rows=None, opt_len=None, **state_changes):
    n = 0
    for _, shape in model_tensors(MODEL_CONFIG):
        k = 1
        for d in shape:
            k *= d
        n += k
    state = {
        "epochs_done": 1, "optimizer_steps": 2, "shuffle_position": "0", "best": None, "best_epoch": 0,
        "since_best": 0, "history": [], "config": TRAIN_CONFIG, "threads": 1, "data": "synthetic", "rows": [rows, 0],
    }
    state.update(state_changes)
    order_rows = rows if order_rows is None else order_rows
    meta = {"config": json.dumps(MODEL_CONFIG), "format": "autoencoder-checkpoint/1",
            "normalizer": json.dumps(NORMALIZER), "state": json.dumps(state)}
    tensors = []
    for name, shape in model_tensors(MODEL_CONFIG):
        k = 1
        for d in shape:
            k *= d
        tensors.append((name, "F32", shape, values(k)))
    if opt_len is not None:
        n = opt_len
    tensors.append(("optimizer.state1", "F32", [n], values(n, 2)))
    tensors.append(("optimizer.state2", "F32", [n], f32le([0.01] * n)))
    tensors.append(("shuffle.order", "U32", [order_rows], b"".join(struct.pack("<I", i) for i in range(order_rows))))
    return safetensors(meta, tensors)


def csv_rows(rows, cols):
    return "".join(",".join("%.3f" % (((r * 7 + c * 3) % 11) / 11.0) for c in range(cols)) + "\n"
                   for r in range(rows)).encode()


def table(columns, nullable=()):
    """A pyarrow table from (name, type, values) triples; the names in `nullable` may hold None."""
    fields = [pa.field(name, t, nullable=name in nullable) for name, t, _ in columns]
    return pa.table([pa.array(v, type=t) for _, t, v in columns], schema=pa.schema(fields))


def numbers(rows, names=("a", "b", "c")):
    """A table of float32 and float64 columns."""
    return table([(n, pa.float32() if i % 2 == 0 else pa.float64(),
                   [((r * 7 + i * 3) % 11) / 11.0 for r in range(rows)]) for i, n in enumerate(names)])


def parquet(t, compression="snappy", row_group_size=None, **options):
    buf = io.BytesIO()
    pq.write_table(t, buf, compression=compression, row_group_size=row_group_size, **options)
    return buf.getvalue()


def arrow_file(t, compression=None, max_chunksize=None):
    """Arrow IPC, file layout (Feather v2, `ARROW1`)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, t.schema, options=pa.ipc.IpcWriteOptions(compression=compression)) as w:
        w.write_table(t, max_chunksize=max_chunksize)
    return sink.getvalue().to_pybytes()


def arrow_stream(t, max_chunksize=None):
    """Arrow IPC, stream layout."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t, max_chunksize=max_chunksize)
    return sink.getvalue().to_pybytes()


def parquet_footer(data, metadata=None, length=None, magic=b"PAR1"):
    """A Parquet file with its footer changed: the Thrift metadata replaced by `metadata`
    (its length field kept unless `length` is given), the length field set to `length`, or the
    closing magic replaced by `magic`."""
    n = struct.unpack_from("<I", data, len(data) - 8)[0]
    body, meta = data[: len(data) - 8 - n], data[len(data) - 8 - n: len(data) - 8]
    if metadata is not None:
        meta = metadata
    return body + meta + struct.pack("<I", n if length is None else length) + magic


# ---------------------------------------------------------------------------
# The malformed corpus
# ---------------------------------------------------------------------------

# MAT v5 (little-endian), enough to write the cases below.
MI_INT8, MI_UINT32, MI_INT32, MI_DOUBLE, MI_MATRIX, MI_COMPRESSED = 1, 6, 5, 9, 14, 15
MX_CELL, MX_DOUBLE = 1, 6


def mat_header(text=b"MATLAB 5.0 MAT-file, written by make.py"):
    return text.ljust(116, b" ") + b"\x00" * 8 + struct.pack("<H", 0x0100) + b"IM"


def mat_element(kind, payload):
    pad = (-len(payload)) % 8
    return struct.pack("<II", kind, len(payload)) + payload + b"\x00" * pad


def mat_matrix(name, rows, cols, data=None, cls=MX_DOUBLE, flags=0, declared_bytes=None):
    if data is None:
        data = [float(i % 7) / 7 for i in range(rows * cols)]
    body = mat_element(MI_UINT32, struct.pack("<II", cls | flags, 0))
    body += mat_element(MI_INT32, struct.pack("<ii", rows, cols))
    body += mat_element(MI_INT8, name)
    real = struct.pack("<%dd" % len(data), *data)
    body += mat_element(MI_DOUBLE, real)
    if flags & 0x0800:
        body += mat_element(MI_DOUBLE, real)
    if declared_bytes is not None:
        return struct.pack("<II", MI_MATRIX, declared_bytes) + body
    return mat_element(MI_MATRIX, body)


def mat_compressed(element, declared=None, payload=None):
    z = payload if payload is not None else zlib.compress(element)
    if declared is None:
        return struct.pack("<II", MI_COMPRESSED, len(z)) + z
    return struct.pack("<II", MI_COMPRESSED, declared) + z


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_gray(w, h, declared=None):
    dw, dh = declared or (w, h)
    ihdr = struct.pack(">IIBBBBB", dw, dh, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes((x * 16 + y) % 256 for x in range(w)) for y in range(h))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def aez(model_id=b"\x00" * 8, bits=4, rows=1, payload=b"\x01\x02\x03\x04", version=1, magic=b"AEZ", crc=None):
    b = magic + bytes([version]) + model_id + bytes([bits])
    r = rows
    while True:
        byte, r = r & 0x7F, r >> 7
        b += bytes([byte | 0x80]) if r else bytes([byte])
        if not r:
            break
    b += payload
    return b + struct.pack("<I", zlib.crc32(b) if crc is None else crc)


def malformed():
    img = bytes((i * 13) % 256 for i in range(4 * 4 * 4))
    good_idx = idx(0x08, [4, 4, 4], img)
    f = {}
    # IDX, plain
    f["data-idx-truncated-header.idx"] = good_idx[:9]
    f["data-idx-truncated-data.idx"] = good_idx[:-5]
    f["data-idx-wrong-magic.idx"] = b"\x00\x00\x08\x00" + good_idx[4:]
    f["data-idx-bad-dtype.idx"] = idx(0x0A, [4, 4, 4], img)
    f["data-idx-huge-dims.idx"] = idx(0x08, [4_000_000_000, 10_000, 10_000], img)
    f["data-idx-huge-rows.idx"] = idx(0x0E, [4_000_000_000, 28, 28], img)
    f["data-idx-overflow-dims.idx"] = idx(0x0E, [0xFFFFFFFF] * 8, b"")
    f["data-idx-too-many-dims.idx"] = bytes([0, 0, 8, 200]) + b"\x00" * 64
    f["data-idx-trailing.idx"] = good_idx + b"garbage!"
    f["data-idx-magic-only.idx"] = b"\x00\x00\x0d\x03"
    # IDX, gzipped
    f["data-idx-gz-truncated.idx.gz"] = gz(good_idx)[:-12]
    f["data-idx-gz-corrupt.idx.gz"] = gz(good_idx)[:20] + b"\xff" * 40
    f["data-idx-gz-huge-dims.idx.gz"] = gz(idx(0x08, [4_000_000_000, 10_000, 10_000], img))
    f["data-idx-gz-lying-size.idx.gz"] = gz(idx(0x08, [1_000_000, 28, 28], b"\x00" * 50_000))
    f["data-idx-gz-trailing.idx.gz"] = gz(good_idx + b"\x00" * 1000)
    f["data-idx-gz-only-magic.idx.gz"] = b"\x1f\x8b"
    # CSV
    f["data-csv-ragged.csv"] = b"1,2,3\n4,5\n6,7,8\n"
    f["data-csv-not-numbers.csv"] = b"a,b,c\n1,2,3\n4,five,6\n"
    f["data-csv-nan.csv"] = b"1,2,3\n4,nan,6\n7,8,9\n"
    f["data-csv-inf.csv"] = b"1,2,3\n4,5,-inf\n7,8,9\n"
    f["data-csv-overflow.csv"] = b"1,2,3\n4,5,1e50\n"
    f["data-csv-empty.csv"] = b""
    f["data-csv-only-header.csv"] = b"a,b,c\n"
    f["data-csv-binary-junk.csv"] = bytes((i * 97 + 31) % 256 for i in range(2048)).replace(b"\x00", b"\x01")
    f["data-csv-huge-line.csv"] = b"1," * 30_000 + b"x\n"
    f["data-csv-huge-field.csv"] = b"1,2\n" + b"9" * 60_000 + b",3\n"
    f["data-csv-unterminated-quote.csv"] = b'1,2,3\n"4,5,6\n7,8,9\n'
    # NPY
    good_npy = npy("<f4", [4, 3], values(12))
    f["data-npy-wrong-magic.npy"] = b"\x93NUMPX" + good_npy[6:]
    f["data-npy-truncated-header.npy"] = good_npy[:40]
    f["data-npy-magic-only.npy"] = b"\x93NUMPY"
    f["data-npy-huge-shape.npy"] = npy("<f4", [1_000_000, 1_000_000], values(12))
    f["data-npy-overflow-shape.npy"] = npy("<f8", [2**40, 2**40, 2**40], b"")
    f["data-npy-complex.npy"] = npy("<c8", [2, 3], b"\x00" * 48)
    f["data-npy-object.npy"] = npy("|O", [2, 3], b"\x00" * 48)
    f["data-npy-bytes.npy"] = npy("|S10", [2, 3], b"a" * 60)
    f["data-npy-fortran-truncated.npy"] = npy("<f4", [4, 3], values(7), fortran=True)
    hdr = bytearray(good_npy)
    struct.pack_into("<H", hdr, 8, 60_000)
    f["data-npy-header-past-eof.npy"] = bytes(hdr)
    f["data-npy-v2-huge-header.npy"] = b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{'descr'"
    f["data-npy-bad-version.npy"] = b"\x93NUMPY\x09\x00" + good_npy[8:]
    f["data-npy-garbage-header.npy"] = npy_header("{'descr': '<f4', 'shape': ((((((((((((((((((((((((((") + values(4)
    f["data-npy-not-a-dict.npy"] = npy_header("this is not a python dict") + values(4)
    f["data-npy-nan.npy"] = npy("<f4", [2, 2], f32le([1.0, float("nan"), 0.5, 0.25]))
    f["data-npy-inf.npy"] = npy("<f8", [2, 2], struct.pack("<4d", 1.0, 2.0, float("inf"), 0.0))
    f["data-npy-trailing.npy"] = good_npy + b"\x00" * 16
    f["data-npy-zero-rows.npy"] = npy("<f4", [0, 3], b"")
    # NPZ
    f["data-npz-not-a-zip.npz"] = b"PK\x03\x04" + b"this is not really a zip archive" * 4
    f["data-npz-no-npy.npz"] = npz([("readme.txt", b"hello"), ("x.bin", values(4))])
    f["data-npz-bad-member.npz"] = npz([("x.npy", b"\x93NUMPY\x01\x00\xff\xff{'descr'")])
    f["data-npz-huge-shape-member.npz"] = npz([("x.npy", npy("<f4", [1_000_000, 1_000_000], b"\x00" * 64))],
                                               zipfile.ZIP_DEFLATED)
    f["data-npz-lying-size.npz"] = patch_zip_sizes(npz([("x.npy", good_npy)], zipfile.ZIP_DEFLATED), 0xFFFFFFF0)
    f["data-npz-truncated.npz"] = npz([("x.npy", good_npy), ("y.npy", npy("<i8", [4], b"\x00" * 32))])[:150]
    f["data-npz-bad-labels.npz"] = npz([("x.npy", good_npy), ("y.npy", npy("<f4", [4], f32le([0, 1.5, 2, 3])))])
    # MATLAB .mat
    good_mat = mat_header() + mat_matrix(b"X", 6, 3) + mat_matrix(b"y", 6, 1, [0, 0, 1, 0, 0, 1])
    f["data-mat-truncated.mat"] = good_mat[: len(good_mat) - 60]
    f["data-mat-header-only.mat"] = mat_header()
    f["data-mat-no-x.mat"] = mat_header() + mat_matrix(b"A", 6, 3)
    f["data-mat-huge-dims.mat"] = mat_header() + mat_matrix(b"X", 2**31 - 1, 2**31 - 1, [1.0, 2.0])
    f["data-mat-element-past-eof.mat"] = mat_header() + mat_matrix(b"X", 2, 2, declared_bytes=0x7FFFFFF0)
    f["data-mat-corrupt-zlib.mat"] = mat_header() + mat_compressed(b"", payload=b"\x78\x9c" + b"\xde\xad\xbe\xef" * 8)
    f["data-mat-compressed-lies.mat"] = mat_header() + mat_compressed(mat_matrix(b"X", 6, 3), declared=0xFFFFFFF0)
    f["data-mat-complex.mat"] = mat_header() + mat_matrix(b"X", 3, 2, flags=0x0800)
    f["data-mat-cell.mat"] = mat_header() + mat_matrix(b"X", 2, 2, cls=MX_CELL)
    f["data-mat-v73-no-hdf5.mat"] = mat_header(b"MATLAB 7.3 MAT-file, Platform: GLNXA64") + b"\x00" * 600
    f["data-mat-fractional-labels.mat"] = mat_header() + mat_matrix(b"X", 4, 2) + mat_matrix(b"y", 4, 1, [0, 0.5, 1, 0])
    f["data-mat-nan.mat"] = mat_header() + mat_matrix(b"X", 2, 2, [1.0, float("nan"), 0.5, 0.0])
    f["data-mat-wrong-label-count.mat"] = mat_header() + mat_matrix(b"X", 4, 2) + mat_matrix(b"y", 3, 1, [0, 1, 0])
    # Images
    good_png = png_gray(12, 10)
    f["data-image-truncated.png"] = good_png[: len(good_png) // 2]
    f["data-image-garbage.jpg"] = b"\xff\xd8\xff\xe0" + bytes((i * 53 + 11) % 256 for i in range(400))
    f["data-image-huge-dims.png"] = png_gray(12, 10, declared=(100_000, 100_000))
    f["data-image-zero-width.png"] = png_gray(12, 10, declared=(0, 10))
    bad_crc = bytearray(good_png)
    bad_crc[30] ^= 0xFF
    f["data-image-bad-crc.png"] = bytes(bad_crc)
    f["data-image-jpeg-header-only.jpg"] = b"\xff\xd8\xff\xdb\x00\x43\x00" + bytes(range(64))
    # Compressed files (`ae decompress MODEL FILE`)
    f["aez-not-ours.aez"] = b"PK\x03\x04 a zip, not a compressed file"
    f["aez-empty.aez"] = b""
    f["aez-too-short.aez"] = b"AEZ\x01\x00\x00"
    f["aez-future-version.aez"] = aez(version=9)
    f["aez-bad-checksum.aez"] = aez(crc=0x12345678)
    f["aez-foreign-model.aez"] = aez(model_id=b"\xfe\xed\xfa\xce\xca\xfe\xba\xbe")
    f["aez-truncated.aez"] = aez(rows=1000, payload=bytes(range(200)))[:120]
    f["aez-rows-overflow.aez"] = aez(crc=None, rows=2**63)
    # Model files
    good_model = model_file()
    f["model-random-bytes.safetensors"] = bytes((i * 131 + 7) % 256 for i in range(512))
    f["model-empty.safetensors"] = b""
    f["model-huge-header-len.safetensors"] = struct.pack("<Q", 1 << 60) + b"{}"
    f["model-header-past-eof.safetensors"] = struct.pack("<Q", 4096) + good_model[8:200]
    f["model-foreign.safetensors"] = safetensors(None, [("w", "F32", [2], values(2))])
    f["model-wrong-format.safetensors"] = model_file(fmt="autoencoder/99")
    f["model-bad-config-json.safetensors"] = model_file(config_text='{"input_dim": 3, "layers": [2')
    f["model-config-unknown-key.safetensors"] = model_file(config_text=json.dumps(dict(MODEL_CONFIG, depth=7)))
    f["model-config-zero-width.safetensors"] = model_file(config_text=json.dumps(dict(MODEL_CONFIG, layers=[0])))
    f["model-config-elbo-score.safetensors"] = model_file(config_text=json.dumps(dict(MODEL_CONFIG, score="elbo")))
    huge = dict(MODEL_CONFIG, input_dim=1 << 20, layers=[1 << 20])
    f["model-config-huge-widths.safetensors"] = model_file(config_text=json.dumps(huge))
    huge = dict(MODEL_CONFIG, input_dim=2**62, layers=[1])
    f["model-config-overflow-input.safetensors"] = model_file(config_text=json.dumps(huge))
    f["model-shape-mismatch.safetensors"] = model_file(shapes={"encoder.0.weight": [3, 2]})
    # Convolutional configurations whose shapes cannot work: refused before any allocation.
    def conv(h, w, channels, **more):
        return json.dumps(dict(MODEL_CONFIG, input_dim=h * w, arch="conv", channels=channels,
                               image_shape={"channels": 1, "height": h, "width": w}, **more))
    f["model-conv-kernel-does-not-fit.safetensors"] = model_file(config_text=conv(8, 8, [2] * 5, kernel_size=4))
    f["model-conv-pool-odd-size.safetensors"] = model_file(config_text=conv(7, 7, [2], downsample="pool"))
    f["model-conv-huge-image.safetensors"] = model_file(config_text=conv(8192, 8192, [4096]))
    f["model-conv-zero-channels.safetensors"] = model_file(config_text=conv(8, 8, [0]))
    f["model-conv-no-image-shape.safetensors"] = model_file(
        config_text=json.dumps(dict(MODEL_CONFIG, arch="conv", channels=[2])))
    f["model-missing-normalizer.safetensors"] = safetensors(
        {"config": json.dumps(MODEL_CONFIG), "format": "autoencoder/1"}, [])
    f["model-bad-normalizer.safetensors"] = model_file(
        extra_meta={"normalizer": json.dumps({"kind": "minmax", "offset": [1.0], "scale": [1.0, 2.0, 3.0, 4.0]})})
    f["model-truncated.safetensors"] = good_model[:-10]
    f["model-bad-training.safetensors"] = model_file(extra_meta={"training": "[1, 2, 3]"})
    # Checkpoints
    good_ckpt = checkpoint()
    f["ckpt-model-file.ckpt"] = good_model
    f["ckpt-truncated.ckpt"] = good_ckpt[: len(good_ckpt) // 2]
    f["ckpt-bad-order.ckpt"] = checkpoint(order_rows=5)
    f["ckpt-bad-position.ckpt"] = checkpoint(shuffle_position="x")
    f["ckpt-huge-rows.ckpt"] = checkpoint(order_rows=8, rows=[2**40, 0])
    f["ckpt-bad-state-json.ckpt"] = checkpoint(config={"batch_size": "many"})
    f["ckpt-optimizer-wrong-len.ckpt"] = checkpoint(opt_len=5)
    f["ckpt-zero-batch-size.ckpt"] = checkpoint(config=dict(TRAIN_CONFIG, batch_size=0))
    f["ckpt-random-bytes.ckpt"] = bytes((i * 71 + 3) % 256 for i in range(300))
    # TOML configuration files
    f["config-invalid-syntax.toml"] = b"[model\nlayers = [64\n"
    f["config-unknown-key.toml"] = b"[model]\nlayers = [8]\ndepth = 3\n"
    f["config-unknown-table.toml"] = b"[modle]\nlayers = [8]\n"
    f["config-wrong-types.toml"] = b"[training]\nepochs = \"ten\"\nbatch_size = 1.5\n"
    f["config-negative-widths.toml"] = b"[model]\nlayers = [-8, 4]\n"
    f["config-huge-integer.toml"] = b"[training]\nepochs = 99999999999999999999999999\n"
    f["config-bad-activation.toml"] = b"[model]\nactivation = \"swish-ish\"\n"
    f["config-binary-junk.toml"] = bytes((i * 89 + 5) % 256 for i in range(256))
    f["config-trim-out-of-range.toml"] = b"[training]\ntrim = 1.5\n"
    f["config-min-steps-too-large.toml"] = b"[training]\nmin_steps = 5000000\n"
    f["config-elbo-score-not-variational.toml"] = b"[model]\nscore = \"elbo\"\n"
    # Values no file we write holds: refused on load, naming the tensor or field.
    def patch_tensor(data, name, index, value):
        """Set value `index` of the F32 tensor `name` in a safetensors file."""
        head_len = struct.unpack_from("<Q", data)[0]
        start = 8 + head_len + json.loads(data[8:8 + head_len])[name]["data_offsets"][0]
        b = bytearray(data)
        struct.pack_into("<f", b, start + 4 * index, value)
        return bytes(b)

    def detector(threshold):
        return json.dumps({"score": "mse", "feature_scale": [], "rule": {"rule": "contamination", "value": 0.05},
                           "threshold": threshold})

    def normalized(kind, scale):
        return model_file(cfg=dict(MODEL_CONFIG, normalize=kind),
                          extra_meta={"normalizer": json.dumps({"kind": kind, "offset": [0.0] * 3, "scale": scale})})
    f["model-nan-weight.safetensors"] = patch_tensor(good_model, "encoder.0.weight", 4, float("nan"))
    f["model-inf-bias.safetensors"] = patch_tensor(good_model, "decoder.0.bias", 1, float("-inf"))
    f["model-negative-threshold.safetensors"] = model_file(extra_meta={"threshold": detector(-1.0)})
    f["model-zero-scale.safetensors"] = normalized("minmax", [1.0, 0.0, 1.0])
    f["model-zscore-zero-scale.safetensors"] = normalized("zscore", [1.0, 1.0, 0.0])
    f["model-zscore-negative-scale.safetensors"] = normalized("zscore", [-2.0, 1.0, 1.0])
    f["ckpt-negative-second-moment.ckpt"] = patch_tensor(good_ckpt, "optimizer.state2", 5, -1.0)
    f["ckpt-nan-weight.ckpt"] = patch_tensor(good_ckpt, "encoder.0.weight", 2, float("nan"))
    f["ckpt-inf-first-moment.ckpt"] = patch_tensor(good_ckpt, "optimizer.state1", 0, float("inf"))
    # Sizes: a list of 100,000 layers (the error must not echo it) and a layer wider
    # than the 65,536 allowed; both refused before the data are read.
    f["config-too-many-layers.toml"] = b"[model]\nlayers = [" + b",".join([b"1"] * 100000) + b"]\n"
    f["config-layer-too-wide.toml"] = b"[model]\nlayers = [300000]\n"
    # Hostile CSV and NPZ (issue 15): binary data where text should be, a sparse file's NUL
    # tail after good rows, a row of empty fields, and an NPZ whose data array is ambiguous.
    f["data-csv-nul-bytes.csv"] = b"\x00" * 4096
    f["data-csv-nul-tail.csv"] = csv_rows(40, 5) + b"\x00" * 4096
    f["data-csv-empty-fields.csv"] = csv_rows(3, 5) + b",,,,\n" + csv_rows(2, 5)
    f["data-npz-ambiguous.npz"] = npz([("a.npy", good_npy), ("b.npy", npy("<f4", [4, 2], values(8)))])
    # Parquet and Arrow IPC (issue 18): a cut file, a footer that is not one (wrong closing
    # magic, Thrift garbage, a length past the file), a text column among the features, a
    # null, and a folder of shards one of which lacks a column (the error names that shard).
    good_parquet = parquet(numbers(40), row_group_size=16)
    f["data-parquet-truncated.parquet"] = good_parquet[: len(good_parquet) // 2]
    f["data-parquet-magic-only.parquet"] = b"PAR1"
    f["data-parquet-bad-footer-magic.parquet"] = parquet_footer(good_parquet, magic=b"PARX")
    meta_len = struct.unpack_from("<I", good_parquet, len(good_parquet) - 8)[0]
    f["data-parquet-garbage-footer.parquet"] = parquet_footer(
        good_parquet, metadata=bytes((i * 97 + 13) % 256 for i in range(meta_len)))
    f["data-parquet-huge-footer-len.parquet"] = parquet_footer(good_parquet, length=0x7FFFFFF0)
    f["data-parquet-string-column.parquet"] = parquet(table([
        ("x", pa.float64(), [0.5, 1.5, 2.5, 3.5]),
        ("name", pa.string(), ["a", "b", "c", "d"]),
        ("z", pa.float32(), [1.0, 0.0, 1.0, 0.0]),
    ]))
    f["data-parquet-null.parquet"] = parquet(table([
        ("x", pa.float64(), [0.5, 1.5, None, 3.5]),
        ("z", pa.int32(), [1, 0, 1, 0]),
    ], nullable=("x",)))
    f["data-parquet-shards-missing-column"] = {
        "part-00000.parquet": parquet(numbers(6)),
        "part-00001.parquet": parquet(numbers(5)),
        "part-00002.parquet": parquet(numbers(6, names=("a", "c"))),
        "_SUCCESS": b"",
    }
    good_arrow = arrow_file(numbers(40), max_chunksize=16)
    f["data-arrow-truncated.arrow"] = good_arrow[: len(good_arrow) // 2]
    good_stream = arrow_stream(numbers(40), max_chunksize=16)
    f["data-arrow-stream-truncated.arrows"] = good_stream[: len(good_stream) - 100]
    f["data-arrow-string-column.feather"] = arrow_file(table([
        ("x", pa.float32(), [0.5, 1.5, 2.5]),
        ("name", pa.string(), ["a", "b", "c"]),
    ]))
    return f


# ---------------------------------------------------------------------------
# Fuzz seeds: small valid files
# ---------------------------------------------------------------------------

def seeds():
    img = bytes((i * 13) % 256 for i in range(6 * 8 * 8))
    good_npy = npy("<f4", [6, 5], values(30))
    return {
        "idx": {
            "seed-images.idx": idx(0x08, [6, 8, 8], img),
            "seed-images.idx.gz": gz(idx(0x08, [6, 8, 8], img)),
            "seed-labels.idx": idx(0x08, [6], bytes(range(6))),
            "seed-f32.idx": idx(0x0D, [4, 3], b"".join(struct.pack(">f", v / 7) for v in range(12))),
            "seed-i16.idx": idx(0x0B, [2, 2, 2, 2], b"".join(struct.pack(">h", v - 8) for v in range(16))),
        },
        "csv": {
            "seed-plain.csv": csv_rows(6, 4),
            "seed-header.csv": b"a,b,c,label\n" + b"".join(
                b"%d.5,%d,-%de-2,%d\n" % (i, i * 2, i, i % 3) for i in range(6)),
            "seed-special.csv": b"\xef\xbb\xbfx,y\n1,nan\n\"2\",inf\n 3 , 4 \n",
        },
        "npy": {
            "seed-f4.npy": good_npy,
            "seed-u1.npy": npy("|u1", [4, 4], bytes(range(16))),
            "seed-f8-fortran.npy": npy("<f8", [3, 2], struct.pack("<6d", *range(6)), fortran=True),
            "seed-i8-1d.npy": npy(">i8", [5], struct.pack(">5q", *range(5))),
            "seed-xy.npz": npz([("x.npy", good_npy), ("y.npy", npy("<i8", [6], struct.pack("<6q", *range(6))))]),
            "seed-deflated.npz": npz([("data.npy", good_npy)], zipfile.ZIP_DEFLATED),
        },
        "model_file": {
            "seed-model.safetensors": model_file(),
            "seed-model-deep.safetensors": model_file(cfg=dict(MODEL_CONFIG, input_dim=4, layers=[3, 2])),
        },
        "checkpoint": {"seed-checkpoint.ckpt": checkpoint()},
        "toml_config": {
            "seed-full.toml": b"[model]\nlayers = [32, 8]\nactivation = \"tanh\"\ninit = \"he_normal\"\n"
                              b"normalize = \"minmax\"\n\n[training]\nepochs = 3\nbatch_size = 16\nloss = \"bce\"\n"
                              b"validation_split = 0.1\n\n[training.optimizer]\nkind = \"sgd\"\nlr = 0.05\n"
                              b"momentum = 0.9\nnesterov = true\n\n[training.early_stopping]\npatience = 2\n",
            "seed-minimal.toml": b"[model]\nlayers = [4]\n",
            "seed-empty.toml": b"",
        },
        "parquet": parquet_seeds(),
    }


def parquet_seeds():
    """Small valid Parquet and Arrow IPC tables: every numeric type the reader takes, a text
    column, nulls, several row groups and batches, and each compression the reader decodes."""
    rows = 12
    types = table([
        ("y", pa.int64(), [r % 3 for r in range(rows)]),
        ("id", pa.string(), ["r%d" % r for r in range(rows)]),
        ("i8", pa.int8(), [r - 6 for r in range(rows)]),
        ("i16", pa.int16(), [r * 1000 - 6000 for r in range(rows)]),
        ("i32", pa.int32(), [r * 100000 for r in range(rows)]),
        ("u8", pa.uint8(), [r * 20 for r in range(rows)]),
        ("u16", pa.uint16(), [r * 5000 for r in range(rows)]),
        ("u32", pa.uint32(), [r * 300000000 for r in range(rows)]),
        ("u64", pa.uint64(), [r * 10**18 for r in range(rows)]),
        ("flag", pa.bool_(), [r % 2 == 0 for r in range(rows)]),
        ("f16", pa.float16(), [r / 4 for r in range(rows)]),
        ("f32", pa.float32(), [r / 3 for r in range(rows)]),
        ("f64", pa.float64(), [None if r % 5 == 2 else r * 1.5 for r in range(rows)]),
    ], nullable=("f64",))
    plain = numbers(rows)
    with_nulls = table([
        ("label", pa.int32(), [r % 2 for r in range(rows)]),
        ("id", pa.int64(), list(range(100, 100 + rows))),
        ("x", pa.float32(), [None if r % 4 == 1 else r / 2 for r in range(rows)]),
        ("z", pa.float64(), [None if r % 3 == 0 else -r * 0.25 for r in range(rows)]),
    ], nullable=("x", "z"))
    text_label = table([
        ("kind", pa.string(), ["setosa", "virginica", "versicolor"] * 4),
        ("id", pa.uint32(), list(range(rows))),
        ("x", pa.float64(), [r * 0.5 for r in range(rows)]),
    ])
    return {
        "seed-floats-snappy.parquet": parquet(plain, row_group_size=4),
        "seed-types-zstd.parquet": parquet(types, compression="zstd", row_group_size=5),
        "seed-nulls-plain.parquet": parquet(with_nulls, compression="none", use_dictionary=False,
                                            data_page_version="2.0"),
        "seed-text-label-gzip.parquet": parquet(text_label, compression="gzip"),
        "seed-lz4-brotli.parquet": parquet(plain, compression={"a": "lz4", "b": "brotli", "c": "snappy"}),
        "seed-types.arrow": arrow_file(types, max_chunksize=5),
        "seed-nulls-zstd.feather": arrow_file(with_nulls, compression="zstd"),
        "seed-floats-lz4.arrow": arrow_file(plain, compression="lz4"),
        "seed-stream.arrows": arrow_stream(with_nulls, max_chunksize=4),
        "seed-text-label.arrows": arrow_stream(text_label),
    }


def fuzz_findings():
    """The inputs the fuzz targets found (fuzz/crashes-found/: each once crashed, hung
    or exhausted memory in a reader), as `data-` files: every one must be refused
    cleanly from now on."""
    found = os.path.join(HERE, "..", "..", "..", "..", "fuzz", "crashes-found")
    out = {}
    for name in sorted(os.listdir(found)):
        if name.endswith((".md", ".py")):
            continue
        with open(os.path.join(found, name), "rb") as fh:
            out["data-found-" + name] = fh.read()
    return out


def main():
    files = malformed()
    files.update(fuzz_findings())
    for name in os.listdir(HERE):
        path = os.path.join(HERE, name)
        if name != "make.py" and os.path.isfile(path):
            os.remove(path)
        elif name.startswith("data-") and os.path.isdir(path):
            shutil.rmtree(path)
    size = 0
    for name, data in sorted(files.items()):
        if isinstance(data, dict):
            os.mkdir(os.path.join(HERE, name))
            for member, content in sorted(data.items()):
                with open(os.path.join(HERE, name, member), "wb") as fh:
                    fh.write(content)
                size += len(content)
        else:
            with open(os.path.join(HERE, name), "wb") as fh:
                fh.write(data)
            size += len(data)
    print("%d malformed files and folders, %d bytes" % (len(files), size))
    if "--fuzz-seeds" in sys.argv:
        root = sys.argv[sys.argv.index("--fuzz-seeds") + 1]
        for target, fs in seeds().items():
            os.makedirs(os.path.join(root, target), exist_ok=True)
            for name, data in fs.items():
                with open(os.path.join(root, target, name), "wb") as fh:
                    fh.write(data)
        print("fuzz seeds written under %s" % root)


if __name__ == "__main__":
    main()
