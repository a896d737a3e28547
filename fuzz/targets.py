"""The entry points the fuzzer drives, and how one case is judged.

A :class:`Target` takes an input file and a scratch folder, calls one public entry
point (the file-level API or the CLI in-process), checks the invariants of a result and
returns a short description of it.  :func:`run_case` judges the outcome:

- ``ok``: a result whose invariants hold;
- ``error:<Class>``: a :class:`~spec2img.Spec2ImgError` whose message names the file,
  with no output file left behind;

and the failures: ``escape:<Class>`` (any other exception), ``unnamed:<Class>`` (an error
that does not name the file), ``leftover`` (an output or temporary file after an
error), ``invariant`` (a result that breaks an invariant), ``cli`` (the command line
printed something other than one error line), plus ``timeout`` and ``crash``, which
the runner in :mod:`fuzz` adds.

To fuzz a new entry point, add a function and a row to :data:`TARGETS`.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spec2img.errors import Spec2ImgError

#: Outcome kinds that are failures.
FAILURES = ("escape", "unnamed", "leftover", "invariant", "cli", "timeout", "crash")

#: Small decodes: a few iterations are enough to exercise every stage.
N_ITER = 2


class Invariant(Exception):
    """A result that breaks a promise (wrong length, non-finite samples, ...)."""


class Timeout(BaseException):
    """Raised by :func:`time_limit`; a BaseException so that no ``except Exception`` eats it."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Invariant(what)


@dataclass(frozen=True)
class Target:
    name: str
    kinds: tuple[str, ...]  # seed kinds it reads
    run: Callable[[Path, Path], str]  # (input file, output folder) -> description
    weight: int = 1


def _load(src: Path, out: Path) -> str:
    import spec2img

    image = spec2img.load(src)
    h, w = image.pixels.shape
    want_h, want_w = image.meta.shape
    check(image.pixels.dtype == np.uint16, f"pixels are {image.pixels.dtype}")
    check(h == want_h and abs(w - want_w) <= 1, f"{w}x{h} image, metadata says {want_w}x{want_h}")
    return f"{w}x{h}"


def _read_png(src: Path, out: Path) -> str:
    from spec2img.io.png import read_png

    pixels, text, mode = read_png(src)
    check(isinstance(pixels, np.ndarray) and pixels.ndim in (2, 3), f"pixels {type(pixels)}")
    check(all(isinstance(k, str) and isinstance(v, str) for k, v in text.items()), "text")
    return f"{mode} {pixels.shape}"


def _decode(src: Path, out: Path) -> str:
    import soundfile as sf

    import spec2img

    meta = spec2img.load(src).meta
    dst = out / "out.wav"
    y, sr = spec2img.image_to_audio(src, dst, subtype="FLOAT", n_iter=N_ITER)
    y = np.atleast_2d(y)
    check(y.shape == (meta.channels, meta.n_samples), f"shape {y.shape} for {meta}")
    check(bool(np.all(np.isfinite(y))), "non-finite samples")
    info = sf.info(dst)
    check((info.frames, info.channels, info.samplerate) == (meta.n_samples, meta.channels, sr),
          f"file {info.frames}x{info.channels}@{info.samplerate}")  # fmt: skip
    return f"{meta.channels}x{meta.n_samples}"


def _cli(argv: list[str]) -> tuple[int, str, str]:
    from spec2img.cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


class CliFailure(Invariant):
    """The command line printed a traceback, an internal error or no error line."""


class CliError(Spec2ImgError):
    """Stands for a well-formed one-line CLI error, so that run_case judges it like one."""


def _judge_cli(code: int, err: str) -> None:
    lines = err.strip().splitlines()
    error_lines = [x for x in lines if x.startswith("spec2img: error:")]
    if code == 1 and len(error_lines) == 1:
        raise CliError(error_lines[0])
    raise CliFailure(f"exit {code}, stderr {err[-300:]!r}")


def _info(src: Path, out: Path) -> str:
    code, stdout, stderr = _cli(["info", str(src), "--json"])
    if code != 0:
        _judge_cli(code, stderr)
    d = json.loads(stdout)
    check(isinstance(d, dict) and d.get("version") == 1, f"info printed {stdout[:200]!r}")
    return f"{len(d)} keys"


def _cli_decode(src: Path, out: Path) -> str:
    dst = out / "out.flac"
    code, _, stderr = _cli(["decode", str(src), str(dst), "--n-iter", str(N_ITER), "-q"])
    if code != 0:
        _judge_cli(code, stderr)
    check(dst.is_file(), "exit 0 but no output")
    return "decoded"


def _load_audio(src: Path, out: Path) -> str:
    from spec2img.io.audio import load_audio

    y, sr = load_audio(src)
    good = y.ndim == 1 or (y.ndim == 2 and y.shape[0] >= 2)  # mono is (n,), as librosa's
    check(y.dtype == np.float32 and good and y.shape[-1] >= 1, f"audio {y.dtype} {y.shape}")
    check(bool(np.all(np.isfinite(y))), "non-finite samples")
    check(isinstance(sr, int) and sr > 0, f"sr={sr!r}")
    return f"{y.shape} at {sr}"


def _encode(src: Path, out: Path) -> str:
    import spec2img

    dst = out / "out.png"
    image = spec2img.audio_to_image(src, dst, n_fft=64)
    back = spec2img.load(dst)
    check(back.meta == image.meta, "metadata changed on save/load")
    check(np.array_equal(back.pixels, image.pixels), "pixels changed on save/load")
    return f"{image.pixels.shape}"


IMAGES = ("spec2img", "png", "jpeg")
AUDIO = ("wav", "flac")

#: Every fuzzed entry point.  Later features add rows here (plain images, batch, ...).
TARGETS = {
    t.name: t
    for t in (
        Target("load", IMAGES, _load, weight=3),
        Target("read_png", IMAGES, _read_png),
        Target("info", IMAGES, _info),
        Target("decode", ("spec2img",), _decode, weight=3),
        Target("cli_decode", ("spec2img", "png"), _cli_decode),
        Target("load_audio", AUDIO, _load_audio),
        Target("encode", AUDIO, _encode),
    )
}


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`Timeout` in the main thread after ``seconds`` (a watchdog for in-process runs)."""
    if not seconds:
        yield
        return

    def fire(signum, frame):
        raise Timeout(f"over {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _empty(folder: Path, keep: Path | None = None) -> None:
    """Remove everything in ``folder`` but ``keep`` (cheaper than removing the folder)."""
    for p in folder.iterdir():
        if p == keep:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


@dataclass(frozen=True)
class Outcome:
    kind: str  # "ok", "error:<Class>", or a failure (see FAILURES)
    detail: str
    seconds: float

    @property
    def failed(self) -> bool:
        return self.kind.split(":")[0] in FAILURES


def run_case(target: Target, data: bytes, suffix: str, workdir: Path,
             seconds: float | None = None) -> Outcome:  # fmt: skip
    """Write ``data`` as the input, run ``target`` on it and judge the outcome."""
    out = workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    _empty(out)
    _empty(workdir, keep=out)
    src = workdir / f"input{suffix}"
    src.write_bytes(data)
    start = time.perf_counter()
    try:
        with time_limit(seconds):
            detail = target.run(src, out)
        kind = "ok"
    except Timeout as e:
        kind, detail = "timeout", str(e)
    except Spec2ImgError as e:
        detail = str(e)
        leftovers = sorted(p.name for p in out.iterdir())
        if leftovers:
            kind, detail = "leftover", f"{leftovers} after {detail}"
        elif str(src) not in detail and str(out) not in detail:
            kind = f"unnamed:{type(e).__name__}"
        else:
            kind = f"error:{type(e).__name__}"
    except Invariant as e:
        kind, detail = ("cli" if isinstance(e, CliFailure) else "invariant"), str(e)
    except Exception as e:  # noqa: BLE001 - an escape is exactly what we are looking for
        tb = traceback.extract_tb(e.__traceback__)[-3:]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb))
        kind, detail = f"escape:{type(e).__name__}", f"{str(e)[:300]} at {where}"
    seconds_taken = time.perf_counter() - start
    return Outcome(kind, detail.replace(str(workdir) + "/", ""), seconds_taken)
