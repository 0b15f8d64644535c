"""`ae serve` against its own OpenAPI document: schemathesis generates requests from
`/openapi.json` (valid and invalid bodies of every media type) and checks that the
server never fails (5xx), accepts what the document allows, refuses what it does not,
and answers in the documented shapes."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("schemathesis", reason="schemathesis is not installed (.ci/run installs it)")


@pytest.fixture
def server(ae, table, tmp_path):
    from conftest import ae_binary

    np.save(tmp_path / "x.npy", table)
    ae("train", tmp_path / "x.npy", "--preset", "tabular", "--min-steps", 20, "--missing", "mean",
       "--threshold", "contamination=0.05", "--threads", 1, "--quiet", "--no-plots", "-o", tmp_path / "m.safetensors")
    p = subprocess.Popen([ae_binary(), "serve", str(tmp_path / "m.safetensors"), "--port", "0", "--threads", "1"],
                         stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    url = re.search(r"http://[0-9.:]+", line)
    assert url, line
    yield url.group(0)
    p.terminate()
    p.wait(timeout=30)


def test_schemathesis_finds_nothing_against_the_openapi_document(server, tmp_path):
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    r = subprocess.run([st, "run", f"{server}/openapi.json", "--max-examples", "60", "--seed", "1"],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert re.search(r"\d+ generated, (\d+) passed", r.stdout), r.stdout[-2000:]
