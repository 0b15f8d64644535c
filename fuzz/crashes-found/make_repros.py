#!/usr/bin/env python3
"""Hand-made reproducers for the Arrow IPC findings of the `parquet` fuzz target (see
README.md here): each patches one field of a valid seed from `fuzz/corpus/parquet/`, so
that the file still starts with `ARROW1` and `ae` reads it as Arrow IPC. Standard library
only; run from anywhere: `python3 fuzz/crashes-found/make_repros.py`.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "..", "corpus", "parquet")


def seed(name):
    with open(os.path.join(SEEDS, name), "rb") as fh:
        return fh.read()


def patched(data, fmt, offset, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def main():
    out = {}
    # Arrow IPC file, 3 float columns, LZ4-compressed buffers: each compressed buffer starts
    # with its uncompressed length (int64), which the reader reserves before decoding.
    lz4 = seed("seed-floats-lz4.arrow")
    frame = lz4.find(b"\x04\x22\x4d\x18")  # the first LZ4 frame's magic
    out["arrow-lz4-huge-uncompressed-length.arrow"] = patched(lz4, "<q", frame - 8, 1 << 40)
    zstd = seed("seed-nulls-zstd.feather")
    frame = zstd.find(b"\x28\xb5\x2f\xfd")  # the first zstd frame's magic
    out["arrow-zstd-huge-uncompressed-length.arrow"] = patched(zstd, "<q", frame - 8, 1 << 33)
    # The footer's Block of the record batch: offset (int64), metaDataLength (int32),
    # padding, bodyLength (int64). The batch follows "ARROW1\0\0" and the schema message.
    schema_len = struct.unpack_from("<i", lz4, 12)[0]
    batch_at = 8 + 8 + schema_len
    footer_len = struct.unpack_from("<i", lz4, len(lz4) - 10)[0]
    block = lz4.find(struct.pack("<q", batch_at), len(lz4) - 10 - footer_len)
    out["arrow-negative-block-body-length.arrow"] = patched(lz4, "<q", block + 16, -1)
    out["arrow-negative-block-metadata-length.arrow"] = patched(lz4, "<i", block + 8, -8)
    out["arrow-huge-block-length.arrow"] = patched(lz4, "<q", block + 16, 1 << 40)
    out["arrow-huge-footer-length.arrow"] = patched(lz4, "<i", len(lz4) - 10, 0x40000000)
    # The record batch's Buffer vector (3 columns x validity, values = 6 (offset, length)
    # pairs): the first values buffer moved 1 TiB past the message body.
    meta_len = struct.unpack_from("<i", lz4, batch_at + 4)[0]
    meta = lz4[batch_at + 8: batch_at + 8 + meta_len]
    k = meta.find(struct.pack("<I", 6))
    while k >= 0:
        pairs = [struct.unpack_from("<qq", meta, k + 4 + 16 * n) for n in range(6)]
        if all(0 <= o < 10000 and 0 <= n < 10000 for o, n in pairs):
            break
        k = meta.find(struct.pack("<I", 6), k + 1)
    assert k >= 0, "no buffer vector found"
    out["arrow-buffer-offset-past-body.arrow"] = patched(lz4, "<q", batch_at + 8 + k + 4 + 16, 1 << 40)
    for name, data in sorted(out.items()):
        with open(os.path.join(HERE, name), "wb") as fh:
            fh.write(data)
    print("%d reproducers written to %s" % (len(out), HERE))


if __name__ == "__main__":
    main()
