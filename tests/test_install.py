"""Installed like a package: compiled-kernel caches stay out of the installed package,
read-only homes still work, and reinstalling over a used install leaves a working
console script (the README's two commands, in order)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT

import spec2img
from spec2img.dsp import jit

pytest.importorskip("numba")

#: Runs one kernel (the PNG unfilter) and prints where spec2img's cache went.
_SCRIPT = """
import numpy as np
from spec2img.io import pngdata
out = np.zeros((2, 4), np.uint8)
raw = np.array([1, 1, 1, 1, 1, 2, 2, 1, 1, 1], np.uint8)
assert pngdata.unfilter(raw, 2, 4, 1, out) == -1
print(out.tolist())
"""


def _run_kernel(tmp_path, **env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    res = subprocess.run([sys.executable, "-c", _SCRIPT], env={**clean, **env},
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def _cache_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")]


def _package_cache_files() -> list[Path]:
    return _cache_files(Path(spec2img.__file__).parent)


def test_kernels_cache_in_the_per_user_folder_not_in_the_package(tmp_path):
    before = set(_package_cache_files())
    out = _run_kernel(tmp_path, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    assert out == "[[1, 2, 3, 4], [3, 3, 4, 5]]"
    assert _cache_files(tmp_path / "xdg" / "spec2img" / "numba")
    assert set(_package_cache_files()) == before


def test_numba_cache_dir_is_honoured(tmp_path):
    before = set(_package_cache_files())
    _run_kernel(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "mine"),
                XDG_CACHE_HOME=str(tmp_path / "xdg"))  # fmt: skip
    assert _cache_files(tmp_path / "mine") and not (tmp_path / "xdg").exists()
    assert set(_package_cache_files()) == before


def test_without_a_writable_cache_folder_kernels_still_run(tmp_path):
    """A read-only home (containers): no cache anywhere, same results.  Root can write
    anywhere, so the folder is made impossible: its parent is a regular file."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    before = set(_package_cache_files())
    out = _run_kernel(tmp_path, XDG_CACHE_HOME=str(blocker / "cache"))
    assert out == "[[1, 2, 3, 4], [3, 3, 4, 5]]"
    assert set(_package_cache_files()) == before


def test_cache_dir_follows_the_platform(monkeypatch, tmp_path):
    monkeypatch.setattr(jit.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert jit.cache_dir() == tmp_path / "spec2img" / "numba"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert jit.cache_dir() == Path.home() / ".cache" / "spec2img" / "numba"
    monkeypatch.setattr(jit.sys, "platform", "darwin")
    assert jit.cache_dir() == Path.home() / "Library" / "Caches" / "spec2img" / "numba"
    monkeypatch.setattr(jit.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    assert jit.cache_dir() == tmp_path / "spec2img" / "Cache" / "numba"


@pytest.mark.slow
def test_reinstalling_editable_over_a_used_install_keeps_the_console_script(tmp_path):
    """``pip install .``, a decode (compiles and caches kernels), then ``pip install -e .``:
    the console script must still work.  The new environment sees this one's
    dependencies through a .pth file, so nothing is downloaded but the build backend."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "spec2img", src / "spec2img",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                "get_paths()['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())  # fmt: skip
    (site / "_spec2img_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["SPEC2IMG_NUMBA"] = "always"  # a decode this short runs in NumPy otherwise

    def pip(*args):
        res = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "-q", "--no-deps", *args], capture_output=True, text=True,
                             env=env, timeout=600)  # fmt: skip
        assert res.returncode == 0, res.stderr[-2000:]

    def spec2img_cli(*args):
        return subprocess.run([str(venv / "bin" / "spec2img"), *map(str, args)],
                              capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=300)  # fmt: skip

    pip(str(src))
    installed = site / "spec2img"
    assert installed.is_dir()
    res = spec2img_cli("decode", ROOT / "fixtures" / "chirp_golden.png", tmp_path / "a.wav", "-q")
    assert res.returncode == 0, res.stderr
    assert not _cache_files(installed)  # numba's default would have put them here
    assert _cache_files(tmp_path / "cache" / "spec2img")
    pip("-e", str(src))
    assert not installed.exists()  # nothing pip does not know about was left behind
    res = spec2img_cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"spec2img {spec2img.__version__}", (
        res.stderr
    )
    res = spec2img_cli("decode", ROOT / "fixtures" / "chirp_golden.png", tmp_path / "b.wav", "-q")
    assert res.returncode == 0, res.stderr
