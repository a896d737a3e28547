"""FGLA, then AGLA: the default decode's iterations (method ``"pghi+fgla+agla"``).

From PGHI's start, fast Griffin-Lim gains the most per iteration at first;
accelerated Griffin-Lim (:mod:`spec2img.phase.agla`) reaches a better point at the end.
Measured on 5-s clips of the tune set (``bench/oneliner.py``, SC against the clip):
55 FGLA then 30 AGLA iterations were as good as or better than 100 of FGLA (Vibe Ace
-0.42 dB, speech -0.76, robin -0.51) except the trumpet (+0.29), with 15% fewer FFTs;
50 + 25 lost 0.6 dB on the trumpet, 60 + 25 lost 0.20, and 65 + 25, the default, no
tune clip more than 0.05.  So ``n_iter`` counts every iteration of the method, and the
first :data:`FGLA_SHARE` of them are FGLA's.

Linked channels (:mod:`spec2img.phase.stereo`) are coupled through both parts with one
schedule (its strength counts the iterations of the whole method), and the stopping
rule, when on, may end the FGLA part; then the AGLA part does not run either, since the
consistency had stopped improving.
"""

from __future__ import annotations

from . import agla, fgla

#: Fraction of ``n_iter`` run as FGLA (the rest is AGLA): 65 of the default 90.
FGLA_SHARE = 13 / 18


def split(n_iter: int) -> tuple[int, int]:
    """``(FGLA iterations, AGLA iterations)`` of ``n_iter`` in all."""
    first = round(n_iter * FGLA_SHARE)
    return first, n_iter - first


def iterate(S, X, engine, *, n_iter, momentum, length, progress=None, stop_db=None,
            alpha=agla.DEFAULT_ALPHA, beta=agla.DEFAULT_BETA, gamma=agla.DEFAULT_GAMMA):  # fmt: skip
    """Run up to ``n_iter`` iterations in place on ``X``: FGLA (``momentum``), then AGLA
    (``alpha``, ``beta``, ``gamma``) for the rest (:func:`split`).

    Arguments as :func:`spec2img.phase.fgla.iterate` takes them.  Returns the iterations
    run, fewer than ``n_iter`` when ``stop_db`` stops them.
    """
    first, rest = split(n_iter)
    ran = fgla.iterate(S, X, engine, n_iter=first, momentum=momentum, length=length,
                       progress=progress, total=n_iter, stop_db=stop_db)  # fmt: skip
    if ran < first:
        return ran
    return ran + agla.iterate(S, X, engine, n_iter=rest, alpha=alpha, beta=beta, gamma=gamma,
                              length=length, progress=progress, stop_db=stop_db, done=first,
                              total=n_iter)  # fmt: skip
