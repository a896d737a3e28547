"""Initial phases: random, or taken from a given phase, always real at DC and Nyquist.

A real signal has real DC and Nyquist bins.  A random phase there is lost in the first
inverse transform (which keeps only the real part), so each frame's DC comes back with
a random amplitude and sign; the first projections then fight over it and a DC offset
or infrasound turns into a low-frequency wobble that Griffin-Lim never removes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["random_phase", "unit_phase"]


def unit_phase(init: np.ndarray, *, nyquist: bool = True) -> np.ndarray:
    """Unit complex64 phasors from phases (radians) or complex values.

    DC and Nyquist become real (±1): a real signal has real DC and Nyquist bins, and
    a phase there would be lost in the first inverse transform anyway, making the
    first iterations fight over it — heard as a low-frequency wobble.  Zero complex
    values become 1.  The result has the layout of ``init`` (bins last).
    """
    if np.iscomplexobj(init):
        out = init.astype(np.complex64)  # a copy: the methods overwrite it
        mag = np.abs(out)
        zero = mag == 0
        mag[zero] = 1
        out /= mag
        out[zero] = 1
    else:
        angle = init.astype(np.float32, copy=False)
        out = np.empty(angle.shape, np.complex64)
        np.cos(angle, out=out.real)
        np.sin(angle, out=out.imag)
    out[..., 0] = np.where(out[..., 0].real >= 0, 1, -1)
    if nyquist and out.shape[-1] > 1:
        out[..., -1] = np.where(out[..., -1].real >= 0, 1, -1)
    return out


def random_phase(
    shape: tuple[int, ...], rng: np.random.Generator, *, nyquist: bool = True
) -> np.ndarray:
    """Unit complex64 values with uniform random phase, real (+1) at DC and Nyquist.

    ``shape`` is in the internal layout ``(channels, frames, bins)``.
    """
    phase = rng.random(shape, dtype=np.float32)
    phase *= np.float32(2 * np.pi)
    out = np.empty(shape, np.complex64)
    np.cos(phase, out=out.real)
    np.sin(phase, out=out.imag)
    out[..., 0] = 1.0
    if nyquist and shape[-1] > 1:
        out[..., -1] = 1.0
    return out
