"""The docstrings' examples run as doctests: every module of the package whose
docstrings hold an example is collected, imported and run."""

from __future__ import annotations

import doctest
import importlib

import pytest
from conftest import ROOT

PACKAGE = ROOT / "spec2img"
#: Modules with examples, by their dotted names.
WITH_EXAMPLES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if ">>>" in p.read_text()
)


def test_the_examples_are_found():
    assert {"spec2img.pipeline", "spec2img.arrays.scipy_compat", "spec2img.draw"} <= set(
        WITH_EXAMPLES
    )


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    tests = finder.find(module, name, globs={"spec2img": importlib.import_module("spec2img")})
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_a_wrong_example_fails():  # the runner above would pass vacuously otherwise
    parser = doctest.DocTestParser()
    test = parser.get_doctest(">>> 1 + 1\n3\n", {}, "wrong", None, 0)
    runner = doctest.DocTestRunner(verbose=False)
    runner.run(test, out=lambda s: None)
    assert runner.summarize(verbose=False).failed == 1
