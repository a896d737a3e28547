"""Replay fuzz/corpus: minimised inputs that once failed, each with the outcome it must have now.

fuzz/corpus/corpus.json lists each file with the target it failed on, the outcome it
must have now (``ok`` or ``error:<Class>``), words its message must hold, and how the
fuzzer found it.
"""

import json
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "fuzz"))
import targets  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Empty filters detected")  # legal, and noisy

CORPUS = ROOT / "fuzz" / "corpus"
MANIFEST = json.loads((CORPUS / "corpus.json").read_text())


def _cases():
    for name, case in sorted(MANIFEST.items()):
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
        yield pytest.param(name, case, id=name, marks=marks)


@pytest.mark.parametrize("name, case", list(_cases()))
def test_corpus_input_has_its_expected_outcome(name, case, tmp_path):
    path = CORPUS / name
    target = targets.TARGETS[case["target"]]
    outcome = targets.run_case(target, path.read_bytes(), path.suffix, tmp_path, seconds=30)
    assert outcome.kind == case["expect"], outcome
    assert case.get("words", "") in outcome.detail, outcome


def test_every_corpus_file_is_listed_and_tiny():
    files = {p.name for p in CORPUS.iterdir() if p.name != "corpus.json"}
    assert files == set(MANIFEST)
    assert all((CORPUS / f).stat().st_size <= 8192 for f in files)
