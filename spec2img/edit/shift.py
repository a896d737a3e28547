"""Moving copied cells in frequency (a selection dragged up an octave) so that they still
sound as what they were: a peak-locked phase vocoder on the STFT cells.

Stretching the rows by the frequency ratio would widen each partial's window lobe (an
octave up, eight bins instead of four) and leave magnitudes no signal has, which the
phase iterations then pull to the wrong pitch.  Instead, as Laroche and Dolson's
phase-locked vocoder does, each frame's spectrum is cut into the regions around its
peaks; each region moves as a block to the bin nearest ``ratio`` times its peak's
frequency (keeping the lobe's shape), and its phases rotate together: the peak's phase
advances by ``ratio`` times the peak's own instantaneous frequency (measured from the
phase difference between frames) per hop, the other bins keep their offset to it.
"""

from __future__ import annotations

import numpy as np


def _princarg(x: np.ndarray) -> np.ndarray:
    return (x + np.pi) % (2 * np.pi) - np.pi


def shift_pitch(
    amp: np.ndarray,
    phase: np.ndarray,
    mask: np.ndarray,
    ratio: float,
    *,
    n_fft: int,
    hop: int,
    first_bin: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells ``amp``, ``phase`` (``(channels, bins, frames)``, bins ``first_bin`` on) and
    ``mask`` (``(bins, frames)``) moved to ``ratio`` times their frequencies.

    Returns the moved ``(amp, phase, mask)``, same shapes (what moves past the top is
    dropped).  The phase uses this package's convention, in which a sinusoid's cells
    carry ``omega c_t - pi k`` (frame centre ``c_t``, bin ``k``).
    """
    c, bins, frames = amp.shape
    k = np.arange(first_bin, first_bin + bins)
    local = np.arange(bins)
    omega_bin = 2 * np.pi * k / n_fft  # radians per sample at each bin's centre
    out_a = np.zeros_like(amp)
    out_p = np.zeros_like(phase)
    out_m = np.zeros_like(mask)
    for ch in range(c):
        last_dest = np.zeros(bins)  # the moved phase of each bin in the previous frame
        last_out = np.zeros(bins)  # and its moved magnitude
        last_a = np.zeros(bins)  # the magnitudes of the previous frame
        last_src = np.zeros(bins)
        for t in range(frames):
            a, ph = amp[ch, :, t], phase[ch, :, t] + np.pi * k  # the -pi k taken out
            peaks = np.flatnonzero((a > 0) & (a >= np.r_[0, a[:-1]]) & (a > np.r_[a[1:], 0]))
            if not peaks.size:
                last_a, last_src, last_out = a, ph, np.zeros(bins)
                continue
            # each bin belongs to its nearest peak (the region between the troughs)
            owner = peaks[np.clip(np.searchsorted((peaks[1:] + peaks[:-1]) / 2, local), 0,
                                  peaks.size - 1)]  # fmt: skip
            # the instantaneous frequency from the phase advance over a hop: back to the
            # previous frame where the peak's bin sounded there; at a track's first frame
            # (the previous cell silent, its phase meaningless), on to the next one.  A
            # silent cell's phase taken for a partial's would send the onset frame to
            # another bin: a one-frame dot beside the moved note.
            back = last_a[peaks] > 0
            dev = np.zeros(peaks.size)
            dev[back] = _princarg(ph[peaks][back] - last_src[peaks][back]
                                  - omega_bin[peaks][back] * hop)  # fmt: skip
            if t + 1 < frames:
                fwd = ~back & (amp[ch, peaks, t + 1] > 0)
                ahead = phase[ch, peaks[fwd], t + 1] + np.pi * k[peaks[fwd]]
                dev[fwd] = _princarg(ahead - ph[peaks][fwd] - omega_bin[peaks][fwd] * hop)
            w = omega_bin[peaks] + dev / hop
            dest_peak = np.rint(w * ratio * n_fft / (2 * np.pi)).astype(int) - first_bin
            shift = dest_peak - peaks
            start = ratio * ph[peaks]  # the scaled phase when the track begins here
            at = np.clip(dest_peak, 0, bins - 1)
            going = back & (last_out[at] > 0)  # a track going on: its phase advances
            start[going] = last_dest[at[going]] + ratio * w[going] * hop
            peak_phase = dict(zip(peaks.tolist(), start.tolist(), strict=True))
            idx = np.searchsorted(peaks, owner)
            dest = local + shift[idx]
            ok = (dest >= 0) & (dest < bins) & (a > 0)
            src = local[ok]
            d = dest[ok]
            base = np.array([peak_phase[p] for p in owner[ok]])
            new_ph = base + ph[src] - ph[owner[ok]]
            better = a[src] > out_a[ch, d, t]
            out_a[ch, d[better], t] = a[src][better]
            out_p[ch, d[better], t] = new_ph[better]
            if ch == 0:
                np.maximum.at(out_m[:, t], d, mask[src, t])
            last_dest = out_p[ch, :, t].copy()
            last_out = out_a[ch, :, t].copy()
            last_a, last_src = a, ph
        out_p[ch] -= np.pi * k[:, None]  # the -pi k put back
    return out_a, out_p, out_m
