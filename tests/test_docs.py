"""The documentation stays true: links resolve, and its command lines parse with the CLI.

The command lines are parsed by the real ``create_parser()``, not run, so that a renamed
or removed option fails here instead of in a reader's shell.
"""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import ROOT

from spec2img.cli import create_parser

DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _links(page):
    text = _FENCE.sub("", page.read_text())  # links inside code are not links
    for m in _LINK.finditer(text):
        yield m.group(1) or m.group(2)


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule)."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page) -> set[str]:
    text = _FENCE.sub("", page.read_text())
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def _relative_links():
    for page in PAGES:
        for target in _links(page):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            yield page, target


def test_the_pages_are_found():
    names = {p.name for p in DOCS}
    assert {"format.md", "cli.md", "python.md", "wild.md", "scale.md"} <= names
    assert {"reliability.md", "benchmarks.md", "bench_phase.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_an_existing_file(page):
    broken = []
    for src, target in _relative_links():
        if src != page:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve()
        rel = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
        if not dest.exists():
            broken.append(f"{target} (no file {rel})")
            continue
        if anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {rel})")
    assert not broken, f"{page.name}: broken links: {broken}"


def test_the_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[ok](#x) [gone](missing.md) ![fig](fig.png) `[code](no.md)`\n")
    assert list(_links(page)) == ["#x", "missing.md", "fig.png", "no.md"]
    page.write_text("[gone](missing.md)\n```sh\n[in code](no.md)\n```\n")
    assert list(_links(page)) == ["missing.md"]


def test_slugs_follow_the_renderer():
    assert _slug("Keeping the phase: near-lossless round trips") == (
        "keeping-the-phase-near-lossless-round-trips"
    )
    assert _slug("decompose, recompose") == "decompose-recompose"
    assert _slug("The `grid` key") == "the-grid-key"


def _command_lines(page):
    """Each ``spec2img ...`` line of the page's shell code blocks, as argv after the name."""
    for lang, body in _FENCE.findall(page.read_text()):
        if lang not in ("sh", "bash", "shell", "console"):
            continue
        body = body.replace("\\\n", " ")  # continuation lines
        for line in body.splitlines():
            line = line.strip().removeprefix("$ ")
            if not line.startswith("spec2img "):
                continue
            yield line, _spec2img_words(line)[1:]


def _spec2img_words(line: str) -> list[str]:
    """The words of a shell line up to its first operator (a pipe, ``&&``, ``;``, ``>``):
    what follows is another program or a redirection."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    words = []
    for word in lex:
        if set(word) <= set("|&;<>()"):
            break
        words.append(word)
    return words


def _strict_parser():
    """The CLI's parser, refusing abbreviations: the docs spell options out in full."""
    import argparse

    parser = create_parser()
    parser.allow_abbrev = False
    for action in parser._actions:  # argparse keeps subparsers here, public or not
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.allow_abbrev = False
    return parser


COMMANDS = [(page, line, argv) for page in PAGES for line, argv in _command_lines(page)]


def test_shell_lines_are_cut_at_the_first_operator():
    assert _spec2img_words("spec2img decode a.png - | sox -t wav - -d") == [
        "spec2img", "decode", "a.png", "-",
    ]  # fmt: skip
    assert _spec2img_words("spec2img info 'my file.png' && echo ok  # done") == [
        "spec2img", "info", "my file.png",
    ]  # fmt: skip
    assert _spec2img_words("spec2img show x.wav -o p.png >log 2>&1") == [
        "spec2img", "show", "x.wav", "-o", "p.png",
    ]  # fmt: skip


def test_the_readme_has_a_dozen_one_liners():
    readme = [c for c in COMMANDS if c[0].name == "README.md"]
    assert len(readme) >= 12
    assert {argv[0] for _, _, argv in readme} >= {"encode", "decode", "info", "show", "join"}


@pytest.mark.parametrize(
    "page,line,argv", COMMANDS, ids=[f"{p.name}:{line[:60]}" for p, line, _ in COMMANDS]
)
def test_every_documented_command_line_parses(page, line, argv, capsys):
    try:
        _strict_parser().parse_args(argv)
    except SystemExit as e:
        pytest.fail(
            f"{page.name}: {line!r} does not parse (exit {e.code}): {capsys.readouterr().err}"
        )


@pytest.mark.parametrize("wrong", ["--n-iters", "--n-ite"])  # unknown, and abbreviated
def test_a_wrong_option_in_a_command_line_is_caught(wrong, capsys):
    with pytest.raises(SystemExit) as e:
        _strict_parser().parse_args(["decode", "in.png", "out.wav", wrong, "3"])
    assert e.value.code == 2


def _options() -> set[str]:
    """Every option string of every subcommand."""
    import argparse

    parser = create_parser()
    out = set()
    for action in parser._actions:  # argparse keeps subparsers here, public or not
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for a in sub._actions:
                    out.update(a.option_strings)
    return out


def test_every_option_the_cli_page_names_exists():
    text = (ROOT / "docs" / "cli.md").read_text()
    named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    assert {"--n-fft", "--keep-phase", "--params-from", "--max-pixels"} <= named
    missing = sorted(named - _options())
    assert not missing, f"docs/cli.md names options no command has: {missing}"


def test_every_command_is_documented():
    """A section in docs/cli.md, or (a command with a page of its own) a command line
    of it in some page's code."""
    import argparse

    text = (ROOT / "docs" / "cli.md").read_text()
    headings = set(re.findall(r"^## (.+)$", text, re.M))
    headings = {w for h in headings for w in re.split(r"[ ,]+", h)}
    parser = create_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    shown = {argv[0] for _, _, argv in COMMANDS if argv}
    assert {"encode", "decode", "info", "show", "join", "mosaic"} <= headings
    absent = [name for name in sub.choices if name not in headings | shown]
    assert not absent, f"no section in docs/cli.md and no example anywhere for: {absent}"


def test_the_readme_keeps_the_ci_command_byte_for_byte():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci.startswith("python3 -m venv .venv")
    assert f"```sh\n{ci}\n```" in (ROOT / "README.md").read_text()


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def _python_blocks():
    for page in PAGES:
        for lang, body in _FENCE.findall(page.read_text()):
            if lang == "python":
                yield page, body


def test_every_python_example_parses_and_its_spec2img_imports_exist():
    import ast
    import importlib
    import importlib.util

    blocks = list(_python_blocks())
    assert len(blocks) >= 5
    for page, body in blocks:
        tree = ast.parse(body, filename=page.name)  # a SyntaxError names the page
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spec2img"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f"{node.module}.{alias.name}"
                    ), f"{page.name}: from {node.module} import {alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("spec2img"):
                        importlib.import_module(alias.name)


def _resolves(dotted: str) -> bool:
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_every_spec2img_name_the_docs_mention_exists():
    """Module paths moved with the layout; a page naming an old one fails here."""
    names = set()
    for page in PAGES:
        names |= set(re.findall(r"(?<![\w/.])spec2img(?:\.[A-Za-z_]\w*)+", page.read_text()))
    assert {"spec2img.dsp.stft", "spec2img.io.dataset.read_dataset"} <= names
    missing = sorted(n for n in names if not _resolves(n))
    assert not missing, f"the docs name what does not exist: {missing}"
    assert not _resolves("spec2img.stft.Stft")  # the check can fail


def test_every_option_of_every_command_is_documented():
    """Each option (by its long or its short name) appears in some page of docs/."""
    import argparse

    text = "\n".join(p.read_text() for p in DOCS)
    parser = create_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, command in sub.choices.items():
        for action in command._actions:
            names = [o for o in action.option_strings if o not in ("-h", "--help")]
            if names and not any(re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)
                                 for o in names):  # fmt: skip
                missing.append(f"{name} {'/'.join(names)}")
    assert not missing, f"options no page of docs/ names: {missing}"
