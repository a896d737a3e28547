"""Compiled kernels, loaded only when first called.

numba takes about 0.3 s to import, so it is never imported with the package: a kernel
is compiled (or loaded from numba's on-disk cache, next to this package's sources or in
the user's cache folder) the first time it runs.  Without a working numba, or with
``SPEC2IMG_NO_NUMBA=1`` in the environment, each kernel runs its NumPy fallback, which
computes the same thing more slowly.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

_numba_ok: bool | None = None


def numba_available() -> bool:
    """True if numba imports and is not disabled by ``SPEC2IMG_NO_NUMBA``."""
    global _numba_ok
    if _numba_ok is None:
        if os.environ.get("SPEC2IMG_NO_NUMBA", "") not in ("", "0"):
            _numba_ok = False
        else:
            try:
                import numba  # noqa: F401
            except Exception:  # pragma: no cover - depends on the environment
                _numba_ok = False
            else:
                _numba_ok = True
    return _numba_ok


class Kernel:
    """A function compiled with ``numba.njit(cache=True)`` on its first call.

    Parameters
    ----------
    func : callable
        Plain-Python loop code that numba can compile.
    fallback : callable or None
        Vectorised NumPy version with the same signature; ``None`` means ``func``
        itself runs uncompiled (correct, but slow).
    """

    def __init__(self, func: Callable[..., Any], fallback: Callable[..., Any] | None = None):
        self.py_func = func
        self.fallback = func if fallback is None else fallback
        self._compiled: Callable[..., Any] | None = None
        self._tried = False
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__

    def _impl(self) -> Callable[..., Any]:
        if self._compiled is None:
            if numba_available():
                import numba

                try:
                    self._compiled = numba.njit(cache=True, nogil=True)(self.py_func)
                except Exception as e:  # pragma: no cover - numba internals
                    warnings.warn(f"numba cannot compile {self.__name__}: {e}", stacklevel=3)
                    self._compiled = self.fallback
            else:
                self._compiled = self.fallback
        return self._compiled

    def __call__(self, *args: Any) -> Any:
        if self._tried:
            return self._compiled(*args)  # type: ignore[misc]
        impl = self._impl()
        try:
            result = impl(*args)
        except RuntimeError as e:  # no writable cache folder: compile for this run only
            if "cannot cache" not in str(e):
                raise
            import numba

            warnings.warn(f"numba cannot cache {self.__name__} ({e}); compiling it each run",
                          stacklevel=2)  # fmt: skip
            self._compiled = numba.njit(cache=False, nogil=True)(self.py_func)
            result = self._compiled(*args)
        self._tried = True
        return result


def kernel(fallback: Callable[..., Any] | None = None) -> Callable[[Callable[..., Any]], Kernel]:
    """Decorator making a :class:`Kernel` of a module-level function."""

    def wrap(func: Callable[..., Any]) -> Kernel:
        return Kernel(func, fallback)

    return wrap
