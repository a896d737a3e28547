"""Compiled kernels, loaded only when first called.

numba takes about 0.3 s to import, so it is never imported with the package: a kernel
is compiled (or loaded from numba's on-disk cache) the first time it runs.  Without a
working numba, or with ``SPEC2IMG_NO_NUMBA=1`` in the environment, each kernel runs its
NumPy fallback, which computes the same thing more slowly.

The cache never goes inside the installed package (numba's default, next to the
sources): files there are unknown to pip, so a later ``pip install -e .`` leaves the
folder behind, where it shadows the editable install.  It goes to
``NUMBA_CACHE_DIR`` when that is set, else to :func:`cache_dir` (per user); where
neither can be written (a read-only container) the kernels are compiled for the run
only, with the same results.

A short decode does not pay for loading numba (about 0.6 s: the import, then its
compiler's set-up even when every kernel comes from the cache).  In NumPy mode every
kernel runs its NumPy version, and :mod:`spec2img.dsp.stft` uses NumPy's FFT instead of
importing ``scipy.fft`` (0.2 s).  The entry points of long work (a decode, a phase
retrieval, an encode) open :func:`deciding` with the work they have ahead of them;
:func:`worth_compiling` says whether compiled kernels pay for it, and the outermost
decision holds for everything inside, so that the blocks of a long decode all run
compiled.  Outside any decision, kernels are compiled.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

_numba_ok: bool | None = None
_config_lock = threading.Lock()
#: True: compiled kernels; False: NumPy mode; None: not decided (compiled).
_MODE: contextvars.ContextVar[bool | None] = contextvars.ContextVar("spec2img_mode",
                                                                    default=None)  # fmt: skip
#: Work (bins x passes over them) below which a call runs in NumPy mode.  Loading numba
#: and the kernels costs about 0.6 s and scipy.fft 0.2 s, which NumPy's slower loops win
#: back only on long work.  Measured, whole ``spec2img decode`` processes, default 100
#: iterations, NumPy mode against compiled (medians of 3): 5 s of mono at 22.05 kHz
#: (2.2e7 bin-passes) 0.8 against 1.6 s; 10 s (4.4e7) 1.3 against 1.7 s; 20 s (8.8e7)
#: 2.3 against 2.2 s; 5 s of stereo at 44.1 kHz (8.9e7) 2.0 against 2.0 s.  In a process
#: that decodes many clips NumPy mode is the slower, about 2x (``bench/roundtrip.py``:
#: 13.9 s of speech at 16 kHz, 4.5e7, 0.84 against 0.38 s): the threshold sits below the
#: one-off break-even (about 7e7), at about 9 s of mono at 22.05 kHz.
COMPILE_WORK = 4e7


def worth_compiling(work: float) -> bool:
    """True if compiled kernels pay for a call doing ``work`` bin-passes.

    The answer depends on ``work`` alone (not on whether numba happens to be loaded
    already), so that a given input decodes to the same output in any process.  With
    ``SPEC2IMG_NUMBA=always`` in the environment it is always True, without numba
    never.  Deciding does not import numba.
    """
    if work < COMPILE_WORK and os.environ.get("SPEC2IMG_NUMBA", "") != "always":
        return False
    return numba_available()


@contextlib.contextmanager
def _mode(compiled: bool):
    token = _MODE.set(compiled)
    try:
        yield
    finally:
        _MODE.reset(token)


def deciding(work: float) -> contextlib.AbstractContextManager:
    """Run the body compiled or in NumPy mode as :func:`worth_compiling` says for
    ``work``, unless an enclosing call has decided already."""
    if _MODE.get() is not None:
        return contextlib.nullcontext()
    return _mode(worth_compiling(work))


def numpy_only() -> contextlib.AbstractContextManager:
    """Run the body in NumPy mode: NumPy kernels and NumPy's FFT.  Results agree with
    the compiled ones to rounding, except PGHI's, whose NumPy version follows another
    integration path (:mod:`spec2img.phase.forest`)."""
    return _mode(False)


def compiled_active() -> bool:
    """False in NumPy mode."""
    return _MODE.get() is not False


def cache_dir() -> Path | None:
    """The per-user folder of spec2img's compiled kernels, or None if there is no home.

    ``$XDG_CACHE_HOME/spec2img/numba`` (default ``~/.cache``) on Linux and other Unix
    systems, ``~/Library/Caches/spec2img/numba`` on macOS, and
    ``%LOCALAPPDATA%\\spec2img\\Cache\\numba`` on Windows.
    """
    try:
        if sys.platform == "win32":
            base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
            return Path(base) / "spec2img" / "Cache" / "numba"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Caches" / "spec2img" / "numba"
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = (
            Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
        )  # XDG: relative is invalid
        return base / "spec2img" / "numba"
    except (RuntimeError, KeyError, OSError):  # no home folder to be found
        return None


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except (OSError, ValueError):
        return False
    return True


def compile_kernel(func: Callable[..., Any]) -> Callable[..., Any]:
    """``numba.njit(nogil=True)`` of ``func``, cached outside the package where possible."""
    import numba

    user_dir = os.environ.get("NUMBA_CACHE_DIR", "")
    folder = Path(user_dir) if user_dir else cache_dir()
    if folder is None or not _writable(folder):
        return numba.njit(cache=False, nogil=True)(func)
    # numba picks a function's cache folder when the decorator runs, from
    # numba.config.CACHE_DIR: set it for that moment only, so that other numba users in
    # the process (librosa) keep their own settings.
    with _config_lock:
        saved = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = str(folder)
        try:
            return numba.njit(cache=True, nogil=True)(func)
        finally:
            numba.config.CACHE_DIR = saved


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
                try:
                    self._compiled = compile_kernel(self.py_func)
                except Exception as e:  # pragma: no cover - numba internals
                    warnings.warn(f"numba cannot compile {self.__name__}: {e}", stacklevel=3)
                    self._compiled = self.fallback
            else:
                self._compiled = self.fallback
        return self._compiled

    def __call__(self, *args: Any) -> Any:
        if _MODE.get() is False:
            return self.fallback(*args)
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
