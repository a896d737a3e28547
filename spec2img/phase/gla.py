"""Classic Griffin-Lim (Griffin & Lim 1984): alternate projections, no momentum."""

from __future__ import annotations

from .fgla import iterate
from .start import random_phase


def gla(S, engine, *, n_iter, init, rng, length, progress=None):
    """Griffin-Lim; see :func:`spec2img.phase.reconstruct` for the arguments."""
    X = random_phase(S.shape, rng, nyquist=engine.n_fft % 2 == 0) if init is None else init
    X *= S
    iterate(S, X, engine, n_iter=n_iter, momentum=0.0, length=length, progress=progress)
    return engine.inverse_tf(X, length)
