"""The project as a stranger receives it: the README's first command works on a fresh
clone, and the sdist carries a licence, its metadata, and tests that pass unpacked."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tarfile

import pytest
from conftest import ROOT

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

README = (ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _first_command() -> str:
    return re.search(r"```sh\n(.*?)\n```", README, re.S).group(1)


def _spec2img_steps() -> list[list[str]]:
    steps = [s.strip() for s in _first_command().split("&&")]
    return [shlex.split(s)[1:] for s in steps if s.startswith(".venv/bin/spec2img ")]


def test_the_first_command_reads_only_files_inside_the_repository():
    runs = _spec2img_steps()
    assert [r[0] for r in runs] == ["encode", "decode"]
    source = runs[0][1]
    assert not source.startswith(("..", "/", "~")), f"{source} lies outside the repository"
    assert (ROOT / source).is_file(), f"{source} is not in the repository"
    assert (ROOT / source).stat().st_size < 1_000_000
    assert runs[1][1] == runs[0][2]  # it decodes what it encoded


def test_the_first_command_encodes_and_decodes(tmp_path, monkeypatch, capsys):
    """Its spec2img steps, run in-process in a folder that holds only the fixtures."""
    import soundfile as sf

    from spec2img.cli import main

    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    monkeypatch.chdir(tmp_path)
    runs = _spec2img_steps()
    for step in _first_command().split("&&"):
        if step.strip().startswith("mkdir"):
            (tmp_path / shlex.split(step)[-1]).mkdir(parents=True, exist_ok=True)
    for argv in runs:
        assert main(argv) == 0, capsys.readouterr().err
    source, sr = sf.read(tmp_path / runs[0][1])
    back, sr_back = sf.read(tmp_path / runs[1][2])
    assert sr_back == sr and back.shape == source.shape


def test_the_licence_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    # PEP 639 forbids a licence classifier beside an expression
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    backend = " ".join(PYPROJECT["build-system"]["requires"])
    assert re.search(r"setuptools>=(7[7-9]|[89]\d)", backend), backend


def test_project_urls_name_the_repository_and_no_package_registry():
    urls = PYPROJECT["project"]["urls"]
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls)
    assert all(u.startswith("https://github.com/") for u in urls.values())


def _build_sdist(tmp_path):
    pytest.importorskip("build")
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} predates PEP 639 (needs 77)")
    res = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir",
         str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    (sdist,) = (tmp_path / "dist").glob("spec2img-*.tar.gz")
    return sdist


def test_the_sdist_unpacked_passes_its_own_tests(tmp_path):
    sdist = _build_sdist(tmp_path)
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        tar.extractall(tmp_path / "unpacked", filter="data")
    for needed in ("LICENSE", "tests/conftest.py", "tests/edit_helpers.py",
                   "fixtures/make_fixtures.py", "fixtures/chirp_golden.png",
                   "fixtures/stereo.wav", "docs/format.md", ".ci/run", "mkdocs.yml",
                   "spec2img/edit/static/app.js", "spec2img/py.typed"):  # fmt: skip
        assert needed in names, f"the sdist lacks {needed}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    (root,) = (tmp_path / "unpacked").iterdir()
    info = (root / "PKG-INFO").read_text()
    assert "License-Expression: MIT" in info and "License-File: LICENSE" in info
    assert "Project-URL: Source, https://github.com/" in info
    # A fast subset, importing the unpacked package (the current folder comes first), in
    # one process (this test already holds one of the cores)
    env = {**os.environ, "CI": "true", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SPEC2IMG_SLOW", None)
    check = "import spec2img, pathlib; print(pathlib.Path(spec2img.__file__).resolve())"
    where = subprocess.run([sys.executable, "-c", check], cwd=root, env=env,
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert where.startswith(str(root.resolve())), where
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "-n0",
         "tests/test_docs.py", "tests/test_fixtures.py", "tests/test_params.py",
         "tests/test_packaging.py", "-k", "not sdist"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert re.search(r"\d+ passed", res.stdout) and " failed" not in res.stdout
