"""Type checkers see the public API's signatures through the lazy namespace's stub.

``spec2img/__init__.pyi`` is both what mypy and pyright read and the list lazy_loader
builds the runtime namespace from.  ``tests/typing/public_api.py`` must check clean;
every line of ``tests/typing/misuse.py`` marked ``# E`` must be reported, and no other:
under ``Any`` none would be.
"""

from __future__ import annotations

import ast
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

import spec2img

TYPING = ROOT / "tests" / "typing"
GOOD, BAD = TYPING / "public_api.py", TYPING / "misuse.py"


def stub_names() -> dict[str, str]:
    """Public name -> the module the stub imports it from."""
    tree = ast.parse((ROOT / "spec2img" / "__init__.pyi").read_text())
    names = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1 and node.module, "lazy_loader takes `from .module import`"
            for alias in node.names:
                assert alias.asname == alias.name, f"re-export {alias.name} as itself"
                names[alias.name] = f"spec2img.{node.module}"
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = "spec2img"
    return names


def test_stub_and_runtime_namespace_list_the_same_names():
    names = stub_names()
    assert set(names) == set(spec2img.__all__)
    assert set(spec2img.__all__) <= set(dir(spec2img)) | {"__version__"}
    for name, module in names.items():
        value = getattr(spec2img, name)
        if name == "edit":  # the editor's package, callable; the stub types the call
            assert value is importlib.import_module("spec2img.edit") and callable(value)
            continue
        assert value is getattr(importlib.import_module(module), name)
        if callable(value) and module != "spec2img":  # defined where the stub says
            assert value.__module__ == module, (name, value.__module__)


def test_import_stays_light():
    code = "import spec2img, sys; print(sorted({'numpy', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def marked_lines() -> set[int]:
    return {i for i, line in enumerate(BAD.read_text().splitlines(), 1) if line.endswith("# E")}


def test_mypy_sees_the_signatures(tmp_path):
    api = pytest.importorskip("mypy.api")
    out, err, _ = api.run([
        str(GOOD), str(BAD), "--follow-imports=silent", "--ignore-missing-imports",
        "--no-error-summary", "--cache-dir", str(tmp_path / "cache"), "--python-version",
        f"{sys.version_info.major}.{sys.version_info.minor}",
    ])  # fmt: skip
    errors = [line.split(":") for line in out.splitlines() if ": error:" in line]
    assert not [e for e in errors if e[0].endswith(GOOD.name)], out + err  # paths as mypy
    reported = {int(e[1]) for e in errors if e[0].endswith(BAD.name)}  # shows them
    assert reported == marked_lines(), out + err


def test_pyright_sees_the_signatures():
    exe = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if exe is None:
        pytest.skip("pyright is not installed (the test extra has it)")
    if shutil.which("node") is None:  # without node, pyright would try to download one
        pytest.skip("pyright needs node on PATH (Debian's nodejs)")
    try:
        res = subprocess.run(
            [exe, "--outputjson", "--pythonpath", sys.executable, str(GOOD), str(BAD)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip("pyright did not finish in 300 s")
    try:
        report = json.loads(res.stdout)
    except json.JSONDecodeError:
        pytest.skip(f"pyright did not run (no node?): {(res.stderr or res.stdout)[-300:]}")
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert not [d for d in errors if d["file"] == str(GOOD)], errors
    reported = {d["range"]["start"]["line"] + 1 for d in errors if d["file"] == str(BAD)}
    assert reported == marked_lines(), errors
