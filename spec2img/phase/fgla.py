"""Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013): Griffin-Lim with momentum."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError


def fgla(S, engine, *, n_iter, init, rng, length, progress=None, momentum=0.99):
    """Fast Griffin-Lim; see :func:`spec2img.phase.reconstruct` for the arguments.

    ``momentum`` (>= 0, default 0.99) extrapolates each projected estimate along the
    last step, which converges much faster than plain Griffin-Lim for values near 1.
    """
    from . import random_phase

    if not np.isfinite(momentum) or momentum < 0:
        raise ParameterError(f"momentum must be >= 0, not {momentum!r}")
    if momentum > 1:
        import warnings

        warnings.warn(f"momentum={momentum} > 1 is unstable", stacklevel=3)
    angles = random_phase(S.shape, rng) if init is None else init
    prev = None
    for i in range(n_iter):
        y = engine.inverse(S * angles, length)
        rebuilt = engine.forward(y)
        t = rebuilt if prev is None else rebuilt + momentum * (rebuilt - prev)
        prev = rebuilt
        angles = t / np.maximum(np.abs(t), 1e-16)
        if progress is not None:
            progress(i + 1, n_iter)
    return engine.inverse(S * angles, length)
