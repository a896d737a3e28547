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
    found = imports_of(PACKAGE / "cli" / "parser.py")
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


#: The leaves every layer may use: parameters, options, errors, windows.
LEAVES = ("errors", "params", "options", "windows")
#: What each subpackage (and the compositions) may import of spec2img: the folder
#: tree is the data-flow picture, each layer using only those below it.
MAY_IMPORT = {
    "dsp": (*LEAVES, "dsp"),
    "io": (*LEAVES, "dsp", "io"),
    "phase": (*LEAVES, "dsp", "phase"),
    "wild": (*LEAVES, "dsp", "io", "phase", "wild"),
    "pipeline.py": (*LEAVES, "dsp", "io", "phase", "wild", "pipeline"),
    "arrays": (*LEAVES, "dsp", "io", "phase", "pipeline", "arrays"),
    "batch": (*LEAVES, "dsp", "io", "phase", "pipeline", "batch"),
    "convert.py": (*LEAVES, "dsp", "io", "phase", "wild", "pipeline", "arrays", "batch"),
    # the drawing (matplotlib) and the notebook face, above the compositions
    "draw.py": (*LEAVES, "dsp", "draw"),
    "display.py": (*LEAVES, "dsp", "io", "phase", "wild", "pipeline", "draw", "display"),
    "edit": (*LEAVES, "dsp", "io", "phase", "wild", "pipeline", "convert", "edit"),
    "cli": (*LEAVES, "dsp", "io", "phase", "wild", "pipeline", "arrays", "batch", "convert",
            "draw", "edit", "cli", "__version__"),
}  # fmt: skip


@pytest.mark.parametrize("room", sorted(MAY_IMPORT))
def test_each_layer_imports_only_those_below_it(room):
    allowed = {n.removesuffix(".py") for n in MAY_IMPORT[room]}
    files = [PACKAGE / room] if room.endswith(".py") else modules(under=room)
    bad = {}
    for p in files:
        ours = {m.split(".")[1] for m in imports_of(p) if m.startswith("spec2img.")}
        if ours - allowed:
            bad[str(p.relative_to(ROOT))] = sorted(ours - allowed)
    assert bad == {}


def test_every_subpackage_has_its_rule():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders <= set(MAY_IMPORT)


def module_graph() -> dict[str, set[str]]:
    """Which module file imports which (lazy imports too), by dotted name.

    ``from . import x`` names module ``x``, not the package; a package's ``__init__``
    is named only when a name is taken from it.
    """
    names = {}
    for p in modules():
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
        names[".".join(parts)] = p
    graph = {}
    for name, p in names.items():
        package = name.split(".") if p.name == "__init__.py" else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                subs = {f"{mod}.{a.name}" for a in node.names} & set(names)
                found |= subs
                if len(subs) < len(node.names) and mod in names:
                    found.add(mod)
        graph[name] = found - {name}
    return graph


def test_no_circle_between_files():
    graph = module_graph()
    circles = []
    for start in graph:  # a circle is a path back to where it started
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    circles.append(" -> ".join((*path, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    assert circles == []


def test_the_graph_sees_lazy_and_relative_imports():  # or the check above is vacuous
    graph = module_graph()
    assert "spec2img.io.params_from" in graph["spec2img.io.image"]
    assert "spec2img.wild.presets" in graph["spec2img.pipeline"]  # imported inside a function


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
