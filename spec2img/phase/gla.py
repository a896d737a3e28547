"""Classic Griffin-Lim (Griffin & Lim 1984): alternate projections, no momentum."""

from __future__ import annotations

from .fgla import fgla


def gla(S, engine, *, n_iter, init, rng, length, progress=None):
    """Griffin-Lim; see :func:`spec2img.phase.reconstruct` for the arguments."""
    return fgla(
        S, engine, n_iter=n_iter, init=init, rng=rng, length=length,
        progress=progress, momentum=0.0,
    )  # fmt: skip
