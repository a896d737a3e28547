"""The phase retrieval methods as a table of records: how each starts, how it steps,
what it checks, what it is called.

A method starts from PGHI's phase (:func:`spec2img.phase.pghi.pghi_start`, option
``tol``) or from random phases, then runs its iterations (``step``: FGLA's or AGLA's
loop), or none (``pghi`` alone).  Each option is a record of its default and its
bounds, checked by the one number check (:func:`spec2img.phase.loop.check_number`).
:data:`METHODS` holds the methods offered; the reference methods that win nowhere live
in ``bench/reference_phase.py``, where their comparison is.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import ParameterError
from . import agla, fgla, loop, schedule
from .pghi import DEFAULT_TOL, pghi_start
from .start import random_phase

INF = math.inf


@dataclass(frozen=True)
class Option:
    """A method's numeric option: its default and the interval it must lie in.

    ``warn_above``: legal but suspicious above this (a warning, not an error).
    ``off_at_zero``: 0 means "off" and is passed on as ``None`` (``stop_db``).
    """

    default: float | None
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    warn_above: float | None = None
    off_at_zero: bool = False

    def check(self, who: str, name: str, value) -> float | None:
        if value is None and self.default is None:
            return None
        value = loop.check_number(who, name, value, self.low, self.high,
                                  low_open=self.low_open, high_open=self.high_open)  # fmt: skip
        if self.warn_above is not None and value > self.warn_above:
            warnings.warn(f"{name}={value:g} > {self.warn_above:g} is unstable", stacklevel=6)
        return None if self.off_at_zero and value == 0 else value


#: The options the methods share.
MOMENTUM = Option(fgla.DEFAULT_MOMENTUM, 0, INF, warn_above=1.0)
TOL = Option(DEFAULT_TOL, 0, 1, low_open=True, high_open=True)
#: PGHI's tolerance in the default schedule: the bins between -80 and -100 dB below the
#: loudest take a scattered phase instead of an integrated one, which the 90 iterations
#: put right as well (the same SC to 0.01 dB on the twelve 5-s clips of
#: ``bench/oneliner.py``) in 10-40 ms less of PGHI's time (its NumPy integration works on
#: fewer bins); ``docs/speed.md``, r4.  PGHI alone keeps the finer :data:`TOL`.
SCHEDULE_TOL = Option(1e-4, 0, 1, low_open=True, high_open=True)
STOP_DB = Option(None, 0, INF, off_at_zero=True)


@dataclass(frozen=True)
class Method:
    """One phase retrieval method.

    Attributes
    ----------
    name : str
        What ``method=`` takes.
    start : {"pghi", "random"}
        PGHI's phase estimate (option ``tol``), or random phases; a given ``init``
        replaces either.
    step : callable or None
        ``step(S, X, engine, *, n_iter, length, progress, **options) -> iterations run``,
        in place on ``X``; ``None``: no iterations (the start is the result).
    options : mapping of str to Option
        The options it takes, in the order its messages list them; ``tol`` goes to the
        start, the others to ``step``.
    fixed : mapping
        Keywords of ``step`` the method fixes (plain Griffin-Lim: no momentum).
    """

    name: str
    start: str
    step: Callable[..., int] | None = None
    options: Mapping[str, Option] = field(default_factory=dict)
    fixed: Mapping = field(default_factory=dict)

    @property
    def iterates_from_pghi(self) -> bool:
        """PGHI, then iterations (the methods the coarse grids serve)."""
        return self.start == "pghi" and self.step is not None

    def checked(self, given: Mapping) -> dict:
        """``given`` options checked, with the defaults of those not given."""
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            raise ParameterError(
                f"method {self.name!r} has no option {unknown[0]!r} "
                f"(its options: {', '.join(self.options) or 'none'})"
            )
        return {k: o.check(self.name, k, given.get(k, o.default)) for k, o in self.options.items()}

    def __call__(self, S, engine, *, n_iter, init, rng, length, progress=None, **given):
        """Run the method on ``S`` [shape=(channels, t, bins), float32]: see
        :func:`spec2img.phase.reconstruct` for the arguments (in its internal layout)."""
        values = self.checked(given)
        tol = values.pop("tol", DEFAULT_TOL)
        if self.start == "pghi":
            X = pghi_start(S, engine, init, rng=rng, tol=tol)
        else:
            X = random_phase(S.shape, rng, nyquist=engine.n_fft % 2 == 0) if init is None else init
            X *= S
        if self.step is None:
            if progress is not None:
                progress(1, 1)
        else:
            self.step(S, X, engine, n_iter=n_iter, length=length, progress=progress,
                      **self.fixed, **values)  # fmt: skip
        return engine.inverse_tf(X, length)


#: The methods offered, by name (exactly :data:`spec2img.options.METHODS`).  Which to
#: pick when: ``docs/speed.md``.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("gla", "random", fgla.iterate, fixed={"momentum": 0.0}),
        Method("fgla", "random", fgla.iterate, {"momentum": MOMENTUM, "stop_db": STOP_DB}),
        Method("pghi", "pghi", None, {"tol": TOL}),
        Method("pghi+fgla+agla", "pghi", schedule.iterate,
               {"momentum": MOMENTUM, "tol": SCHEDULE_TOL, "stop_db": STOP_DB}),
        Method("pghi+fgla", "pghi", fgla.iterate,
               {"momentum": MOMENTUM, "tol": TOL, "stop_db": STOP_DB}),
        Method("pghi+agla", "pghi", agla.iterate, {
            "alpha": Option(agla.DEFAULT_ALPHA, 0, 1, high_open=True),
            "beta": Option(agla.DEFAULT_BETA, 0, 10),
            "gamma": Option(agla.DEFAULT_GAMMA, 0, 2, low_open=True, high_open=True),
            "tol": TOL, "stop_db": STOP_DB,
        }),
    )
}  # fmt: skip
