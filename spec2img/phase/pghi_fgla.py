"""PGHI as the initial phase, then fast Griffin-Lim.

PGHI lands close to a good solution in one pass but leaves local phase errors; FGLA
from there removes them far faster than from a random phase (−30 dB after 16
iterations instead of about −20 dB on music).
"""

from __future__ import annotations

from . import loop
from .fgla import DEFAULT_MOMENTUM, check_momentum, iterate
from .pghi import DEFAULT_TOL, pghi_start


def pghi_fgla(
    S, engine, *, n_iter, init, rng, length, progress=None,
    momentum=DEFAULT_MOMENTUM, tol=DEFAULT_TOL, stop_db=None,
):  # fmt: skip
    """PGHI then FGLA; see :func:`spec2img.phase.reconstruct` for the arguments.

    A given ``init`` replaces the PGHI step (FGLA starts from it).  ``momentum`` as in
    ``fgla``, ``tol`` as in ``pghi``.
    """
    momentum = check_momentum(momentum)
    stop_db = loop.check_stop_db(stop_db)
    X = pghi_start(S, engine, init, rng=rng, tol=tol)
    iterate(S, X, engine, n_iter=n_iter, momentum=momentum, length=length, progress=progress,
            stop_db=stop_db)  # fmt: skip
    return engine.inverse_tf(X, length)
