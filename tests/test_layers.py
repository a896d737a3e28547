"""The house's rules, checked on the code: which layer may import what."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "spec2img"


def imports_of(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names, as absolute dotted names."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def modules(*, under: str = "", exclude: tuple[str, ...] = ()) -> list[Path]:
    root = PACKAGE / under if under else PACKAGE
    return [
        p for p in sorted(root.rglob("*.py"))
        if not any(p.is_relative_to(PACKAGE / e) for e in exclude)
    ]  # fmt: skip


def test_no_module_below_the_cli_imports_argparse():
    offenders = [
        str(p.relative_to(ROOT)) for p in modules(exclude=("cli",))
        if "argparse" in imports_of(p)
    ]  # fmt: skip
    assert offenders == []


def test_the_helper_finds_imports():  # the checks above would pass vacuously otherwise
    found = imports_of(PACKAGE / "cli" / "main.py")
    assert "argparse" in found and "spec2img.options" in found


@pytest.mark.parametrize(
    "folder,forbidden",
    [
        ("phase", ("spec2img.io", "PIL", "soundfile", "spec2img.cli", "spec2img.wild")),
        ("dsp", ("spec2img.io", "spec2img.phase", "spec2img.cli", "spec2img.wild", "PIL")),
        ("batch", ("spec2img.cli",)),
        ("wild", ("spec2img.cli", "spec2img.batch.folders", "spec2img.batch.runners")),
        ("arrays", ("spec2img.cli",)),
    ],
)
def test_stages_do_not_reach_the_wrong_way(folder, forbidden):
    bad = {}
    for p in modules(under=folder):
        hits = sorted(m for m in imports_of(p) if m.startswith(forbidden))
        if hits:
            bad[str(p.relative_to(ROOT))] = hits
    assert bad == {}


def test_parameters_and_options_depend_on_nothing_heavy():
    allowed = {"spec2img.errors", "spec2img.params", "spec2img.windows"}
    for name in ("params.py", "options.py", "errors.py"):
        ours = {m for m in imports_of(PACKAGE / name) if m.startswith("spec2img")}
        ours = {m for m in ours if not any(m.startswith(a + ".") for a in allowed)}
        assert ours <= allowed, (name, ours)


def test_only_the_faces_call_the_cli():
    users = [
        str(p.relative_to(ROOT)) for p in modules(exclude=("cli",))
        if any(m.startswith("spec2img.cli") for m in imports_of(p))
        and p.name != "__main__.py"
    ]  # fmt: skip
    assert users == []


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported (not inside a function or class)."""
    found = set()
    tree = ast.parse(path.read_text())
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add(node.module or "")
        stack.extend(ast.iter_child_nodes(node))
    return found


def test_the_notebook_libraries_stay_optional():
    """IPython, anywidget and traitlets (spec2img[notebook]) are imported only inside
    the functions that need them, so that the package imports without them."""
    optional = ("IPython", "anywidget", "traitlets", "ipywidgets")
    offenders = {
        str(p.relative_to(ROOT)): hits
        for p in modules()
        if (hits := sorted(m for m in _top_level_imports(p) if m.startswith(optional)))
    }
    assert offenders == {}
    assert "anywidget" in imports_of(PACKAGE / "edit" / "widget.py")  # the check can see it


def test_the_image_reaches_its_display_face_only_by_name():
    """SpectrogramImage's display methods (repr, _repr_html_, plot, audio) are the one
    call from a stage up to a face: spec2img.display, imported by the name
    io.image.DISPLAY_FACE when an image is shown, never by an import statement."""
    import importlib

    from spec2img.io import image

    static = {m for p in modules(under="io") for m in imports_of(p)}
    assert not {m for m in static if m.startswith(("spec2img.display", "spec2img.draw"))}
    face = importlib.import_module(image.DISPLAY_FACE)
    for name in ("summary", "mimebundle", "to_html", "preview_png", "plot", "audio"):
        assert callable(getattr(face, name)), name
    # the faces of drawing stay above io and below the CLI
    assert not {m for m in imports_of(PACKAGE / "draw.py") if m.startswith("spec2img.cli")}
    assert not {m for m in imports_of(PACKAGE / "display.py") if m.startswith("spec2img.cli")}
