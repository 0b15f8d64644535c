"""Every Python snippet of docs/python.md and of the README runs, in order, in one
namespace per file (as a reader would paste them into a notebook), in a fresh folder."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "python.md"
README = ROOT / "README.md"


def has_module(name):
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def has_torch():
    return has_module("torch")


def snippets(doc=DOC):
    text = doc.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_guide_has_snippets():
    assert len(snippets()) >= 6


@pytest.mark.parametrize("doc", [DOC, README], ids=lambda p: p.name)
def test_every_snippet_runs(tmp_path, monkeypatch, doc):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    assert snippets(doc), f"{doc} has no Python snippet"
    for i, code in enumerate(snippets(doc), 1):
        if ("import torch" in code or "to_torch" in code) and not has_torch():
            print(f"SKIP snippet {i}: torch is not installed")
            continue
        if "mpi4py" in code and not has_module("mpi4py"):
            print(f"SKIP snippet {i}: mpi4py is not installed")
            continue
        try:
            exec(compile(code, f"{doc.name} snippet {i}", "exec"), namespace)
        except Exception as e:
            raise AssertionError(f"snippet {i} of {doc} failed: {e!r}\n{code}") from e
