"""The fuzzer in CI: a few hundred seeded mutated inputs in-process, and the harness itself.

The full campaign is ``python fuzz/fuzz.py --n 20000`` (see docs/reliability.md,
"Fuzz summary"); this runs the same cases, numbered from 0, with a watchdog per case.
"""

import subprocess
import sys
import time

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "fuzz"))
import seeds as seedlib  # noqa: E402
import targets  # noqa: E402

import fuzz  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Empty filters detected")  # legal, and noisy

CASES = 500
SECONDS = 20  # per case; the slowest of 20,000 takes well under a second


@pytest.fixture(scope="module")
def seeds():
    return seedlib.make_seeds()


def test_seeded_mutations_end_in_a_result_or_one_spec2img_error(seeds, tmp_path):
    names = list(targets.TARGETS)
    kinds, failures = {}, []
    for i in range(CASES):
        name, seed, data, desc = fuzz.make_case(seeds, names, 0, i)
        outcome = targets.run_case(targets.TARGETS[name], data, seed.suffix, tmp_path, SECONDS)
        kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1
        if outcome.failed:
            failures.append(f"case {i} {name} on {seed.name}: {outcome.kind} {outcome.detail}"
                            f" ({desc})")  # fmt: skip
    assert not failures, "\n".join(failures)
    # The mutations must reach every stage: results, and errors of each kind.
    for kind in ("ok", "error:InputError", "error:MetadataError", "error:CliError"):
        assert kinds.get(kind, 0) >= 10, kinds


def test_every_seed_is_valid_for_its_targets(seeds, tmp_path):
    for target in targets.TARGETS.values():
        for seed in seeds:
            if seed.kind not in target.kinds:
                continue
            outcome = targets.run_case(target, seed.data, seed.suffix, tmp_path, SECONDS)
            needs_metadata = target.name in ("load", "info", "decode", "cli_decode")
            if seed.kind == "spec2img" or not needs_metadata:
                assert outcome.kind == "ok", (target.name, seed.name, outcome)
            else:  # a plain image: the message says which parameters to give by hand
                assert outcome.kind.startswith("error:"), (target.name, seed.name, outcome)
                assert "no spec2img metadata" in outcome.detail


def test_cases_are_reproducible(seeds):
    names = list(targets.TARGETS)
    for i in (0, 7, 1234):
        a, b = fuzz.make_case(seeds, names, 3, i), fuzz.make_case(seeds, names, 3, i)
        assert a[0] == b[0] and a[2] == b[2] and a[3] == b[3]
    assert fuzz.make_case(seeds, names, 3, 1)[2] != fuzz.make_case(seeds, names, 4, 1)[2]


def _judge(run, tmp_path, seconds=None):
    target = targets.Target("probe", ("png",), run)
    return targets.run_case(target, b"data", ".png", tmp_path, seconds)


def test_the_harness_tells_failures_from_errors(tmp_path):
    from spec2img.errors import InputError

    def named(src, out):
        raise InputError(f"{src}: broken")

    def unnamed(src, out):
        raise InputError("broken")

    def escape(src, out):
        raise ZeroDivisionError("oops")

    def leftover(src, out):
        (out / "out.wav").write_bytes(b"partial")
        raise InputError(f"{src}: broken")

    def broken_promise(src, out):
        targets.check(False, "wrong length")

    def hangs(src, out):
        time.sleep(30)

    assert _judge(lambda s, o: "fine", tmp_path).kind == "ok"
    assert _judge(named, tmp_path).kind == "error:InputError"
    assert _judge(unnamed, tmp_path).kind == "unnamed:InputError"
    assert _judge(escape, tmp_path).kind == "escape:ZeroDivisionError"
    assert _judge(leftover, tmp_path).kind == "leftover"
    assert _judge(broken_promise, tmp_path).kind == "invariant"
    start = time.monotonic()
    assert _judge(hangs, tmp_path, seconds=0.5).kind == "timeout"
    assert time.monotonic() - start < 5


def test_the_script_prints_its_summary(tmp_path):
    res = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "fuzz.py"), "--n", "40", "--jobs", "1", "--quiet",
         "--targets", "load,info,encode"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    for line in ("inputs tried: 40", "outcomes by type:", "slowest case:",
                 "escapes and other failures: 0"):  # fmt: skip
        assert line in res.stdout, res.stdout
