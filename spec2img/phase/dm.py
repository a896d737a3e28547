"""The Griffin-Lim -> difference-map hybrid (Peer, Welker & Gerkmann, IWAENC 2022), from PGHI.

The difference map (here with ``β = 1``, where it needs one projection per iteration
and equals RAAR with ``β = 1``) reaches better optima than Griffin-Lim but wanders at
first; Griffin-Lim gets close fast and then stalls.  So the first ``switch`` fraction
of the iterations is (fast) Griffin-Lim, the rest the difference map.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from . import fgla, loop, raar
from .pghi import DEFAULT_TOL, pghi_start

#: Fraction of the iterations spent in Griffin-Lim before switching (0.8 measured no
#: better against FGLA alone).
DEFAULT_SWITCH = 0.5
#: Momentum of the Griffin-Lim part: FGLA's; 0 gives the paper's plain GLA.
DEFAULT_MOMENTUM = fgla.DEFAULT_MOMENTUM


def check_switch(switch) -> float:
    """Validate ``switch`` in [0, 1]."""
    if isinstance(switch, bool) or not isinstance(switch, int | float | np.floating):
        raise ParameterError(f"dm() called with switch={switch!r}; it must be a number")
    if not math.isfinite(switch) or not 0 <= switch <= 1:
        raise ParameterError(f"dm() called with switch={switch}; it must be in [0, 1]")
    return float(switch)


def pghi_dm(
    S, engine, *, n_iter, init, rng, length, progress=None, switch=DEFAULT_SWITCH,
    momentum=DEFAULT_MOMENTUM, tol=DEFAULT_TOL, stop_db=None,
):  # fmt: skip
    """PGHI, (fast) Griffin-Lim, then the difference map; see
    :func:`spec2img.phase.reconstruct` for the arguments.

    ``switch`` in [0, 1]: fraction of ``n_iter`` run as Griffin-Lim with ``momentum``.
    """
    switch = check_switch(switch)
    momentum = fgla.check_momentum(momentum)
    stop_db = loop.check_stop_db(stop_db)
    X = pghi_start(S, engine, init, rng=rng, tol=tol)
    first = int(round(switch * n_iter))
    ran = fgla.iterate(S, X, engine, n_iter=first, momentum=momentum, length=length,
                       progress=progress, total=n_iter, stop_db=stop_db)  # fmt: skip
    if ran == first:
        raar.iterate(S, X, engine, n_iter=n_iter - first, beta=1.0, length=length,
                     progress=progress, stop_db=stop_db, done=first, total=n_iter)  # fmt: skip
    return engine.inverse_tf(X, length)
