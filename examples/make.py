#!/usr/bin/env python3
"""Writes the README's example files, deterministically (Python 3 standard library only).

    python3 examples/make.py        # from the repository root; rewrites examples/table.csv
                                    # and examples/shapes/

table.csv: 300 rows of six sensor readings (negative values included) that follow two
hidden factors, and an `outlier` column: 0 for the 285 rows that follow them, 1 for the
15 rows (5 %) that break the pattern.
shapes/: 28×28 grayscale PNGs, 8 rings and 8 squares, one sub-folder per label.
"""
import os
import random
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def table(path):
    rng = random.Random(16)
    rows = []
    for i in range(300):
        f1, f2 = rng.gauss(0, 1), rng.gauss(0, 1)
        x = [
            20.0 + 5.0 * f1,                     # temperature, °C
            -2.0 + 1.5 * f1 - 1.0 * f2,          # pressure offset (negative)
            3.0 * f2,                            # flow
            0.5 * f1 + 0.5 * f2,                 # vibration
            -10.0 + 2.0 * f1 + 4.0 * f2,         # current
            100.0 - 3.0 * f2,                    # voltage
        ]
        x = [v + rng.gauss(0, 0.1 * (1 + abs(v) / 10)) for v in x]
        outlier = i % 20 == 7
        if outlier:  # two readings far off the pattern the others follow
            j = rng.randrange(6)
            k = (j + 1 + rng.randrange(5)) % 6
            x[j] += rng.choice([-1, 1]) * rng.uniform(6, 10) * (1 + abs(x[j]) / 10)
            x[k] -= rng.choice([-1, 1]) * rng.uniform(6, 10) * (1 + abs(x[k]) / 10)
        rows.append(x + [int(outlier)])
    with open(path, "w", newline="\n") as f:
        f.write("temperature,pressure,flow,vibration,current,voltage,outlier\n")
        for r in rows:
            f.write(",".join(f"{v:.3f}" for v in r[:6]) + f",{r[6]}\n")


def png(path, pixels, side):
    raw = b"".join(b"\x00" + bytes(pixels[y * side:(y + 1) * side]) for y in range(side))

    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def shapes(folder):
    rng = random.Random(28)
    side = 28
    for label in ("ring", "square"):
        os.makedirs(os.path.join(folder, label), exist_ok=True)
        for n in range(8):
            cx, cy = rng.uniform(11, 17), rng.uniform(11, 17)
            r = rng.uniform(5, 9)
            px = []
            for y in range(side):
                for x in range(side):
                    dx, dy = x - cx, y - cy
                    if label == "ring":
                        on = abs((dx * dx + dy * dy) ** 0.5 - r) < 1.5
                    else:
                        on = abs(max(abs(dx), abs(dy)) - r) < 1.5
                    px.append(255 if on else 0)
            png(os.path.join(folder, label, f"{n}.png"), px, side)


if __name__ == "__main__":
    table(os.path.join(HERE, "table.csv"))
    shapes(os.path.join(HERE, "shapes"))
