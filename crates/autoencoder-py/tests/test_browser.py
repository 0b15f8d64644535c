"""The model card page in a real browser: headless Chromium (Debian's `chromium`, driven
by Playwright) opens `ae report`'s file and `ae serve`'s `/`, finds no console errors,
pastes rows into the served page and reads back the scores `ae score` gives.

`AE_SCREENSHOTS=DIR` keeps the screenshots (the README's come from here)."""

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (.ci/run installs it)")

ROOT = Path(__file__).resolve().parents[3]
TABLE = ROOT / "examples" / "table.csv"


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium: apt-get install chromium")
        pytest.skip("no chromium: apt-get install chromium")
    return path


@pytest.fixture
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield b
        b.close()


def shots(tmp_path):
    return Path(os.environ.get("AE_SCREENSHOTS", tmp_path))


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


@pytest.fixture
def detector(ae, tmp_path):
    m = tmp_path / "detector.safetensors"
    ae("train", TABLE, "--preset", "tabular", "--label-column", "outlier", "--min-steps", 40,
       "--threshold", "contamination=0.05", "--threads", 1, "--quiet", "--no-plots", "-o", m)
    return m


def test_the_report_file_opens_without_errors(ae, detector, browser, tmp_path):
    ae("report", detector, TABLE, "--label-column", "outlier", "--threads", 1, "-o", tmp_path / "report.html")
    page, errors = open_page(browser, (tmp_path / "report.html").as_uri())
    assert page.locator("h2", has_text="Settings").count() == 1
    assert page.locator("figcaption", has_text="ROC curve, area").count() == 1
    assert page.locator("svg").count() >= 5
    page.screenshot(path=str(shots(tmp_path) / "report.png"), full_page=True)
    assert errors == []


def test_rows_pasted_into_the_served_page_get_ae_scores(ae, detector, browser, tmp_path):
    from conftest import ae_binary

    # Ten rows of the table without their label column, and what ae score says of them.
    with open(TABLE) as f:
        rows = list(csv.reader(f))
    header, body = rows[0][:-1], [r[:-1] for r in rows[1:11]]
    text = "\n".join([",".join(header)] + [",".join(r) for r in body])
    (tmp_path / "ten.csv").write_text(text + "\n")
    ae("score", detector, tmp_path / "ten.csv", "-o", tmp_path / "s.csv", "--threads", 1)
    with open(tmp_path / "s.csv") as f:
        want = [r["score"] for r in csv.DictReader(f)]
    p = subprocess.Popen([ae_binary(), "serve", str(detector), "--port", "0", "--threads", "1"],
                         stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://[0-9.:]+", p.stderr.readline()).group(0)
        page, errors = open_page(browser, url + "/")
        page.fill("#rows", text)
        page.click("#send")
        page.wait_for_selector("#result")
        got = page.locator("#result td.score").all_inner_texts()
        assert got == want  # the very digits ae score prints
        page.screenshot(path=str(shots(tmp_path) / "served.png"), full_page=True)
        assert errors == [], errors
        # A bad paste shows the server's error, not a broken page (the browser logs the
        # two refused requests, and nothing else).
        page.fill("#rows", "1,2,3")
        page.click("#send")
        page.wait_for_selector("#error")
        assert "values" in page.locator("#error").inner_text()
        assert len(errors) == 2 and all("status of 400" in e for e in errors), errors
    finally:
        p.terminate()
        p.wait(timeout=30)
