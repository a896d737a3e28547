"""Shared test helpers: seeded signals (from fixtures/make_fixtures.py) and measures."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = Path(os.environ.get("SPEC2IMG_CORPUS", ROOT.parent / "shared" / "corpus"))

_spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
signals = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(signals)

SR = signals.SR


@pytest.fixture(autouse=True)
def _state_home(tmp_path_factory, monkeypatch):
    """The editor's journal goes to a temporary state folder, never the user's (the
    processes tests start inherit it)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.getbasetemp() / "state"))


def pytest_collection_modifyitems(config, items):
    skip_slow = os.environ.get("CI") and not os.environ.get("SPEC2IMG_SLOW")
    for item in items:
        if skip_slow and "slow" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="slow; set SPEC2IMG_SLOW=1 to run in CI"))
        if "corpus" in item.keywords and not CORPUS.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"{CORPUS} is absent"))


def ctrl_c_reaches_it() -> None:
    """``preexec_fn`` for a process a test sends SIGINT: Ctrl-C's default, as a
    terminal gives it.  A suite started in the background (``cmd &``) ignores SIGINT,
    and the processes it starts inherit that, so they would rightly keep ignoring it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(capsys, *argv):
    """Run the CLI in-process on ``argv`` (stringified); return (exit code, stdout, stderr)."""
    from spec2img.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def modules_loaded_by(*argv, env: dict | None = None) -> set[str]:
    """The modules a fresh process holds after ``spec2img ARGV`` (stringified), which
    must exit 0: what a command loads is what its start costs."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys; from spec2img.cli.main import main; "
        f"rc = main({[str(a) for a in argv]!r}); print(json.dumps([rc, sorted(sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=env, check=True)  # fmt: skip
    rc, modules = json.loads(out.stdout.splitlines()[-1])
    assert rc == 0, out.stderr
    return set(modules)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def rms_db(y: np.ndarray) -> float:
    """RMS level in dBFS."""
    return float(20 * np.log10(np.sqrt(np.mean(np.square(y, dtype=np.float64))) + 1e-300))


def sc_db(reference: np.ndarray, estimate: np.ndarray, **stft) -> float:
    """Spectral convergence of ``estimate`` against ``reference``'s STFT magnitude, dB."""
    from spec2img.dsp.stft import Stft
    from spec2img.phase import spectral_convergence

    stft = {"n_fft": 2048, "hop_length": 512, **stft}
    engine = Stft(stft["n_fft"], stft["hop_length"])
    return spectral_convergence(np.abs(engine.forward(reference)), estimate, engine)


@pytest.fixture
def wav(tmp_path):
    """Write a named synthetic signal to a WAV in tmp_path and return its path."""
    import soundfile as sf

    def make(name: str = "mixture", sr: int = SR, subtype: str = "FLOAT") -> Path:
        y = (
            np.atleast_2d(getattr(signals, name)())
            if name != "silence"
            else np.zeros((1, int(SR * signals.DURATION)), np.float32)
        )
        path = tmp_path / f"{name}.wav"
        sf.write(path, y.T, sr, subtype=subtype)
        return path

    return make


def mel_lsd(reference: np.ndarray, estimate: np.ndarray, sr: int, *, floor_db: float = 80.0):
    """Mel log-spectral distance in dB (lower is better), on a framing of its own.

    80 mel bands of a 1024-point STFT (hop 256) of both signals, cut to the shorter
    one; both floored ``floor_db`` below the reference's peak; the RMS over bands of
    the dB difference, averaged over frames.  Channels are averaged.
    """
    import librosa

    reference, estimate = np.atleast_2d(reference), np.atleast_2d(estimate)
    n = min(reference.shape[-1], estimate.shape[-1])

    def mel_db(y):
        M = librosa.feature.melspectrogram(
            y=np.asarray(y[..., :n], np.float32), sr=sr, n_fft=1024, hop_length=256, n_mels=80
        )
        return 10 * np.log10(np.maximum(M, 1e-30))

    a, b = mel_db(reference), mel_db(estimate)
    floor = a.max(axis=(-2, -1), keepdims=True) - floor_db
    a, b = np.maximum(a, floor), np.maximum(b, floor)
    return float(np.mean(np.sqrt(np.mean((a - b) ** 2, axis=-2))))


def gain_sc_db(reference: np.ndarray, estimate: np.ndarray, **stft) -> float:
    """Spectral convergence after the best gain: ``min_g ||S - g|X||| / ||S||`` in dB.

    For decodes whose level is unknown (plots are normalised), so that only the shape
    of the spectrogram counts.
    """
    from spec2img.dsp.stft import Stft

    stft = {"n_fft": 2048, "hop_length": 512, **stft}
    engine = Stft(stft["n_fft"], stft["hop_length"])
    S = np.abs(engine.forward(reference)).astype(np.float64)
    X = np.abs(engine.forward(estimate)).astype(np.float64)
    t = min(S.shape[-1], X.shape[-1])
    S, X = S[..., :t], X[..., :t]
    gain = np.sum(S * X) / max(np.sum(X * X), 1e-300)
    return float(20 * np.log10(np.linalg.norm(S - gain * X) / np.linalg.norm(S)))
