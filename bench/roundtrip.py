"""Default encode -> decode on real recordings: quality, level and time.

Run from the repository root: ``python bench/roundtrip.py``.  Reads the first 30 s
(or the whole file when shorter) of a music, a speech and a trumpet recording from
``../shared/corpus`` at their own rate and channel count, and prints a Markdown table:
spectral convergence of the decoded audio against the original STFT magnitude, RMS
level difference, and median wall times of encode and decode over ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import spec2img  # noqa: E402
from spec2img.dsp.stft import Stft  # noqa: E402
from spec2img.phase import spectral_convergence  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
FILES = {
    "music": "Kevin_MacLeod_-_Vibe_Ace.ogg",
    "speech": "198-209-0000.ogg",
    "trumpet": "sorohanro_-_solo-trumpet-06.ogg",
}


def rms_db(y: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(y, dtype=np.float64)))))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} is absent")
        return 0
    print("| recording | rate, channels, s | encode s | decode s | SC dB | level diff dB |")
    print("|---|---|---|---|---|---|")
    for label, name in FILES.items():
        y, sr = spec2img.load_audio(CORPUS / name)
        y = np.atleast_2d(y)  # (channels, n), mono too
        y = y[:, : int(args.seconds * sr)]
        enc, dec = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            image = spec2img.encode(y, sr)
            enc.append(time.perf_counter() - t)
            t = time.perf_counter()
            z, _ = spec2img.decode(image)
            dec.append(time.perf_counter() - t)
        p = image.params
        engine = Stft(p.n_fft, p.hop_length, p.win_length, p.window, p.center)
        sc = spectral_convergence(np.abs(engine.forward(y)), np.atleast_2d(z), engine)
        print(
            f"| {label} ({name}) | {sr} Hz, {y.shape[0]} ch, {y.shape[1] / sr:.1f} s "
            f"| {statistics.median(enc):.2f} | {statistics.median(dec):.2f} | {sc:.1f} "
            f"| {rms_db(np.atleast_2d(z)) - rms_db(y):+.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
