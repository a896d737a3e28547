"""PGHI's two integrations side by side: the compiled queue and the NumPy spanning forest.

Run from the repository root::

    python bench/pghi_forest.py      # about 2 minutes on 2 cores

Two 5-s excerpts (at 30 % and 60 % of the file) of every recording in
``../shared/corpus`` at 22.05 kHz mono, and three of the synthetic drum & bass track
(``bench/material.py``).  For each, the spectral convergence of PGHI alone and of PGHI
then 100 FGLA iterations, with the queue (``phase.pghi._integrate``, compiled) and with
the forest (``phase.forest.integrate``); the iterations run compiled in both, so only
the integration differs.  Also the time of each integration on the first excerpt.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import material  # noqa: E402

import spec2img  # noqa: E402
from spec2img import phase  # noqa: E402
from spec2img.dsp.jit import deciding  # noqa: E402
from spec2img.dsp.stft import Stft  # noqa: E402
from spec2img.phase import forest, pghi  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
SR = 22050


def excerpts() -> dict[str, np.ndarray]:
    out = {}
    for path in sorted(CORPUS.glob("*.ogg")):
        y, _ = spec2img.load_audio(path, sr=SR, mono=True)
        y = np.atleast_2d(y)  # (channels, n), mono too
        for at in (0.3, 0.6):
            a = int(at * max(0, y.shape[-1] - 5 * SR))
            out[f"{path.stem[:24]} @{at:.0%}"] = y[:, a : a + 5 * SR]
    import librosa

    dnb = librosa.resample(material.drum_and_bass(20.0).mean(axis=0), orig_sr=material.SR,
                           target_sr=SR)[None].astype(np.float32)  # fmt: skip
    for s in (0, 5, 10):
        out[f"drum & bass @{s} s"] = dnb[:, s * SR : (s + 5) * SR]
    return out


def main() -> int:
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} is absent")
        return 0
    engine = Stft(2048, 512)
    queue = pghi._integrate
    rows, times = [], {"queue": [], "forest": []}
    print(
        "| excerpt | queue, PGHI alone | forest, PGHI alone | queue, +100 FGLA | forest, +100 FGLA |"
    )
    print("|---|---:|---:|---:|---:|")
    with deciding(float("inf")):  # compiled iterations for both
        for name, y in excerpts().items():
            S = np.abs(engine.forward(y))
            r = {}
            for label, integrate in (("queue", queue), ("forest", forest.integrate)):
                pghi._integrate = integrate
                try:
                    for n in (0, 100):
                        z = phase.reconstruct(S, engine, method="pghi+fgla", n_iter=n,
                                              length=y.shape[-1])  # fmt: skip
                        r[(label, n)] = phase.spectral_convergence(S, z, engine)
                    if not times[label]:
                        Si = np.ascontiguousarray(np.swapaxes(S, -1, -2))
                        for _ in range(5):
                            t = time.perf_counter()
                            pghi.pghi_phase(Si, engine, rng=np.random.default_rng(0))
                            times[label].append(time.perf_counter() - t)
                finally:
                    pghi._integrate = queue
            rows.append(r)
            print(f"| {name} | {r[('queue', 0)]:.2f} | {r[('forest', 0)]:.2f} | "
                  f"{r[('queue', 100)]:.2f} | {r[('forest', 100)]:.2f} |")  # fmt: skip
    mean = {k: statistics.mean(r[k] for r in rows) for k in rows[0]}
    print(f"| **mean of {len(rows)}** | {mean[('queue', 0)]:.2f} | {mean[('forest', 0)]:.2f} | "
          f"{mean[('queue', 100)]:.2f} | {mean[('forest', 100)]:.2f} |")  # fmt: skip
    print()
    print(f"PGHI of 1025 x 216 bins, median of 5: queue {statistics.median(times['queue']):.3f} s, "
          f"forest {statistics.median(times['forest']):.3f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
