"""The documentation site builds with warnings as errors, with an API reference made
from the docstrings, and every page of docs/ is in it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

pytest.importorskip("mkdocs", reason="mkdocs is not installed (spec2img[docs])")
pytest.importorskip("mkdocstrings_handlers.python", reason="mkdocstrings[python] is missing")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    res = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-4000:]
    assert "WARNING" not in res.stderr, res.stderr[-4000:]
    return out


def test_every_page_is_built(site):
    for page in (ROOT / "docs").glob("*.md"):
        name = "" if page.stem == "index" else page.stem + "/"
        assert (site / name / "index.html").is_file(), f"{page.name} is not in the site"


def test_the_api_reference_is_made_from_the_docstrings(site):
    html = (site / "api" / "index.html").read_text()
    for name in ("encode", "decode", "load_image", "SpectrogramImage", "Spec2ImgError",
                 "invert_scipy_spectrogram", "edit", "specshow"):  # fmt: skip
        assert 'id="spec2img.' in html and name in html, name
    # numpydoc sections rendered as tables, not left as text
    assert "<b>Parameters:</b>" in html or "Parameters" in html
    assert "hop_length" in html and "n_fft" in html
    assert "----------" not in html  # an unparsed numpydoc underline would show
    assert ":func:" not in html and ":class:" not in html  # roles shown as plain code


def test_a_broken_link_fails_the_strict_build(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# x\n\n[gone](missing.md)\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: x\nstrict: true\n")
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d",
                          str(tmp_path / "site")], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert res.returncode != 0 and "missing.md" in res.stderr
