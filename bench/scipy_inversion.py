"""Invert scipy.signal.spectrogram of a speech excerpt and print duration, level and quality.

    python bench/scipy_inversion.py [AUDIO ...]

Defaults to 15 s of the two LibriSpeech excerpts in ../shared/corpus at 16 kHz, with
``nperseg`` = 20 ms and a Hann window (scipy's other defaults: 12.5 % overlap,
density scaling, PSD, constant detrending).  Quality is the mel log-spectral distance
to the original (tests/conftest.py's ``mel_lsd``; lower is better), next to two
oracles that retrieve the phase from the *true* STFT magnitude on the same framing
(no detrending, no rounding of scipy's output): (a) through the same inversion,
(b) by plain fast Griffin-Lim on scipy's 12.5 % framing.  The last columns show the
common mistake, ``librosa.griffinlim(Sxx)``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import scipy.signal  # noqa: E402
from conftest import CORPUS, mel_lsd, rms_db  # noqa: E402

import spec2img  # noqa: E402
from spec2img import phase  # noqa: E402
from spec2img.dsp.stft import Stft  # noqa: E402

FILES = ["3436-172162-0000.ogg", "198-209-0000.ogg"]
SECONDS = 15


def main(paths: list[str]) -> None:
    import librosa

    paths = paths or [str(CORPUS / f) for f in FILES]
    for path in paths:
        y, sr = spec2img.load_audio(path)
        y = np.atleast_2d(y)  # (channels, n), mono too
        x = y[0, : SECONDS * sr]
        nperseg = sr // 50
        hop = nperseg - nperseg // 8
        _, _, Sxx = scipy.signal.spectrogram(x, sr, window="hann", nperseg=nperseg)
        t0 = time.perf_counter()
        z = spec2img.invert_scipy_spectrogram(Sxx, sr, window="hann", nperseg=nperseg)
        elapsed = time.perf_counter() - t0
        n = len(z)
        # the oracles: the true magnitude on scipy's framing
        win = scipy.signal.get_window("hann", nperseg)
        engine = Stft(nperseg, hop, nperseg, win, center=False, wss_floor=0.1)
        S = np.abs(engine.forward(x))[:, : Sxx.shape[-1]]
        scale = 1 / (sr * np.sum(win**2))
        a = spec2img.invert_scipy_spectrogram(
            S * np.sqrt(scale), sr, window="hann", nperseg=nperseg, mode="magnitude"
        )
        b = phase.reconstruct(S, engine, length=nperseg + (S.shape[-1] - 1) * hop)
        naive = librosa.griffinlim(Sxx.astype(np.float32), n_iter=32)
        print(f"{Path(path).name}: {len(x) / sr:.2f} s at {sr} Hz, nperseg {nperseg}, hop {hop}")
        print(f"  ours:   length {n - len(x):+d} samples, level {rms_db(z) - rms_db(x[:n]):+.2f} dB, "
              f"mel LSD {mel_lsd(x, z, sr):.2f} dB ({elapsed:.1f} s)")  # fmt: skip
        print(f"  oracle (same inversion, true magnitude): mel LSD {mel_lsd(x, a, sr):.2f} dB")
        print(f"  plain fast Griffin-Lim on scipy's framing: mel LSD {mel_lsd(x, b, sr):.2f} dB")
        print(f"  librosa.griffinlim(Sxx): {len(x) / len(naive):.2f}x too short, "
              f"level {rms_db(naive) - rms_db(x):+.1f} dB")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
