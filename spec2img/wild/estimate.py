"""The dB range of a plot that shows no colour bar, estimated from the picture itself.

A plot maps ``db_min .. db_max`` onto its colormap; read with the wrong range, the
magnitudes are the true ones raised to a power (``R_guess / R_true``), and a
spectrogram bent that way is no longer the STFT of any signal.  So the range whose
magnitudes phase retrieval can match best is the estimate: for each candidate range a
short excerpt of the image is decoded (a few dozen iterations) and the gain-matched
spectral convergence between the magnitudes and the STFT of the result is measured;
the minimum over a grid, refined by a parabola through its neighbours, is returned.

Measured on ``plt.specgram`` figures of a tone in faint noise, a chirp and the
fixtures' mixture (true ranges 150, 237 and 204 dB), the estimate lands within about
20 % of the true range; see ``docs/presets.md``.

Two sharper rulers come first (:func:`estimate_range` says which wins).  Where the
picture has steady tones (:func:`range_from_peaks`): a sinusoid's bins follow the
window's main lobe, whose two neighbours of the peak lie 12-14 dB below it together
(Hann), whatever the tone's frequency, so the levels those drops span give the dB per
level.  On the tune set's default ``plt.specgram`` figures it lands within 2-4 %.
Where it has none but noise (:func:`range_from_noise`): a periodogram cell of noise is
exponential, so its dB spread is fixed whatever the noise's level or colour; drawn,
that spread shrinks by an amount the geometry sets, so white noise is drawn by the
same tool at the same size (:mod:`spec2img.wild.redraw`) and the picture's rows that
are shaped like it (tail, lag, steadiness, and no coupling across bins) give the
range from their spread: 2-5 % on our own pink noise and swelling noise, at 2 to 30 s.
Where it has neither but shows every frame (:func:`range_from_dips`): a cell's power
where the sound has a random part dips towards zero as an exponential variable does,
so the dips below a row's running median thin out with depth at a rate fixed in dB,
calibrated by the same drawing of white noise, unless the dips gather in columns
(bursts and gaps, pauses): 2-5 % on the tune set's 2-s figures that peaks do not
read.  Pictures with none of these (clicks in
silence, crackle, speech drawn several frames a pixel column) fall back to the
consistency estimate.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

#: Candidate ranges in dB.
CANDIDATES = (40.0, 60.0, 80.0, 100.0, 120.0, 150.0, 200.0, 250.0, 300.0)
#: Frames of the excerpt decoded for each candidate.
EXCERPT_FRAMES = 320
N_ITER = 30


def inconsistency(levels: np.ndarray, top_db: float, params) -> float:
    """Gain-matched spectral convergence (dB) of the best signal for ``levels`` read
    with ``top_db`` (levels ``(channels, bins, frames)`` in [0, 1], linear bins)."""
    from ..dsp.stft import Stft
    from ..phase import reconstruct

    S = 10.0 ** ((np.asarray(levels, np.float64) - 1.0) * top_db / 20.0)
    S = S.astype(np.float32)
    engine = Stft(params.n_fft, params.hop_length, win_length=params.win_length,
                  window=params.window)  # fmt: skip
    n = (S.shape[-1] - 1) * params.hop_length
    y = reconstruct(S, engine, n_iter=N_ITER, seed=0, length=n)
    X = np.abs(engine.forward(y)).astype(np.float64)
    t = min(X.shape[-1], S.shape[-1])
    S64, X = S[..., :t].astype(np.float64), X[..., :t]
    gain = np.sum(S64 * X) / max(np.sum(X * X), 1e-300)
    return float(20 * np.log10(np.linalg.norm(S64 - gain * X) / np.linalg.norm(S64)))


#: Least and most dB a steady peak stands above the bins three away, and changes from
#: one pixel column to the next (chosen on the tune set).
PEAK_PROMINENCE_DB = 12.0
PEAK_STEADY_DB = 6.0
#: Most the tone's frequency moves between pixel columns, in bins (a glide broadens
#: the lobe).
PEAK_STEADY_BINS = 0.3

#: Windows whose main lobe :func:`range_from_peaks` reads.
PEAK_WINDOWS = ("hann",)

#: Relative standard error of the median the peaks must reach to be believed.
PEAK_MAX_ERROR = 0.04


def main_lobe(window, n_fft: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The drops (dB) from a sinusoid's peak bin to its larger and smaller neighbour,
    for offsets ``0 .. 0.5`` bin of the tone from the peak bin's centre.

    Returns ``(offsets, larger, smaller)``; ``larger + smaller`` runs from -12.0 to
    -14.0 dB for Hann windows.
    """
    from ..windows import get_window

    w = np.asarray(get_window(window, n_fft), np.float64)
    d = np.linspace(0.0, 0.5, 201)
    n = np.arange(len(w))

    def mag(x):
        return np.abs(np.exp(-2j * np.pi * np.outer(x, n) / len(w)) @ w) / np.sum(w)

    peak = mag(d)
    return d, 20 * np.log10(mag(1 - d) / peak), 20 * np.log10(mag(1 + d) / peak)


def range_from_peaks(rows: np.ndarray, window, n_fft: int) -> tuple[float, int] | None:
    """The dB per level unit (the plot's range) from the shapes of steady peaks.

    Parameters
    ----------
    rows : np.ndarray [shape=(n_fft // 2 + 1, columns)]
        Colormap values in [0, 1] at each bin's centre row (lowest bin first), one
        value a pixel column; NaN where a pixel is not the colormap's.
    window, n_fft
        The window the picture was computed with.

    Returns
    -------
    (float, int) or None
        The range and the number of peaks measured, or ``None`` when too few steady
        peaks agree (:data:`PEAK_MAX_ERROR`).

    Notes
    -----
    A peak is a bin above both neighbours, :data:`PEAK_PROMINENCE_DB` above the bins
    three away, at the same bin and within :data:`PEAK_STEADY_DB` in the pixel
    columns either side.  Its two drops ``a >= b`` (levels) give the tone's offset
    from ``a / (a + b)`` and the range as the lobe's ``A + B`` over ``a + b``.  A
    glide or a swell only ever broadens a lobe (a larger range), so the peaks'
    estimates spread upwards from the steady ones: their :func:`shorth` is taken, not
    their median (on the tune set 2-4 % off where the median was 1-16 %).  It is
    iterated from 150 dB, since the thresholds are in dB.
    """
    Z = np.asarray(rows, np.float64)
    if Z.ndim != 2 or Z.shape[0] < 8 or Z.shape[1] < 3:
        return None
    d, big, small = main_lobe(window, n_fft)
    share = big / (big + small)  # 0.5 at offset 0 .. 0 at offset 0.5
    c = Z[3:-3, 1:-1]
    up, dn = Z[4:-2, 1:-1], Z[2:-4, 1:-1]
    far = np.fmax(Z[6:, 1:-1], Z[:-6, 1:-1])
    prev, nxt = Z[3:-3, :-2], Z[3:-3, 2:]
    with np.errstate(invalid="ignore", divide="ignore"):  # flat neighbours: no peak
        shape = (c > up) & (c > dn)
        shape &= (prev > Z[4:-2, :-2]) & (prev > Z[2:-4, :-2])
        shape &= (nxt > Z[4:-2, 2:]) & (nxt > Z[2:-4, 2:])
        a = np.fmax(up, dn) - c
        b = np.fmin(up, dn) - c

        def offset_at(cols):  # the tone's signed offset from the bin, in bins
            cc, uu, ll = Z[3:-3, cols], Z[4:-2, cols], Z[2:-4, cols]
            hi, lo = np.fmax(uu, ll) - cc, np.fmin(uu, ll) - cc
            return np.sign(uu - ll) * np.interp(hi / (hi + lo), share[::-1], d[::-1])

        here = offset_at(slice(1, -1))
        shape &= np.abs(offset_at(slice(None, -2)) - here) < PEAK_STEADY_BINS
        shape &= np.abs(offset_at(slice(2, None)) - here) < PEAK_STEADY_BINS
        est, found = 150.0, None
        for _ in range(4):
            pk = shape & ((c - far) * est > PEAK_PROMINENCE_DB)
            pk &= (np.abs(prev - c) * est < PEAK_STEADY_DB) & (
                np.abs(nxt - c) * est < PEAK_STEADY_DB
            )
            aa, bb = a[pk], b[pk]
            if aa.size < 5:
                return None
            offset = np.interp(aa / (aa + bb), share[::-1], d[::-1])
            per_peak = np.interp(offset, d, big + small) / (aa + bb)
            per_peak = per_peak[np.isfinite(per_peak) & (per_peak > 0)]
            if per_peak.size < 5:
                return None
            est = shorth(per_peak)
            found = per_peak
    q1, q3 = np.percentile(found, [25, 75])
    error = 1.2533 * (q3 - q1) / 1.349 / np.sqrt(found.size) / est
    if not (np.isfinite(est) and 10.0 <= est <= 1000.0) or error > PEAK_MAX_ERROR:
        return None
    return est, int(found.size)


def shorth(values: np.ndarray) -> float:
    """The median of the shortest interval holding half of ``values``: where they
    crowd, unmoved by a one-sided spread."""
    x = np.sort(np.asarray(values, np.float64))
    h = max(1, int(np.ceil(x.size / 2)))
    i = int(np.argmin(x[h - 1 :] - x[: x.size - h + 1]))
    return float(np.median(x[i : i + h]))


def estimate_top_db(levels: np.ndarray, params) -> float:
    """The dB range (``db_max - db_min``) that makes ``levels`` most consistent.

    Parameters
    ----------
    levels : np.ndarray [shape=(channels, n_fft // 2 + 1, frames)]
        Colormap values of the cells, in [0, 1], on ``params``' framing.
    params : spec2img.params.SpecParams
        Linear-frequency framing of the cells.
    """
    levels = np.asarray(levels)[:1]
    t = levels.shape[-1]
    if t > EXCERPT_FRAMES:  # the loudest stretch says most
        energy = np.convolve(levels[0].mean(axis=0), np.ones(EXCERPT_FRAMES), "valid")
        start = int(np.argmax(energy))
        levels = levels[..., start : start + EXCERPT_FRAMES]
    scores = np.array([inconsistency(levels, r, params) for r in CANDIDATES])
    i = int(np.argmin(scores))
    if 0 < i < len(CANDIDATES) - 1:  # parabola through the minimum and its neighbours
        x = np.log(CANDIDATES[i - 1 : i + 2])
        a, b, _ = np.polyfit(x, scores[i - 1 : i + 2], 2)
        if a > 0:
            return float(np.exp(np.clip(-b / (2 * a), x[0], x[2])))
    return CANDIDATES[i]


#: Pixel columns of one block of a row, the noise ruler's unit, and the lag (columns)
#: of the time differences that test it for noise.
NOISE_BLOCK = 24
NOISE_LAG = 3
#: Least spread (levels) a block must show: a steady tone's row varies by the colours'
#: rounding alone, which says nothing of the range.
NOISE_MIN_SPREAD = 3.0 / 255
#: Rows apart whose fluctuations must be unrelated (beyond a Hann lobe's neighbour and
#: the drawing's blending of adjacent rows).
NOISE_COUPLING_BINS = 3
#: Least blocks a row needs to be measured.
NOISE_MIN_ROW_BLOCKS = 6
#: A row's shape may lie this many times the 10-90 % half-spread of drawn noise's rows
#: from their median.
NOISE_BAND = 1.0
#: Least share of the rows, and least count, that must look like noise.
NOISE_MIN_SHARE = 0.3
NOISE_MIN_ROWS = 12


def noise_statistics(rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """Spread and scale-free shape of each row, pooled over its blocks.

    Parameters
    ----------
    rows : np.ndarray [shape=(bins, columns)]
        Levels at each bin's centre row (:func:`spec2img.wild.plain.centre_rows`).

    Returns
    -------
    spread, tail, lag, steady, coupled : np.ndarray [shape=(bins - 4,)]
        For each row but the two at each end (DC and Nyquist cells spread
        differently), the medians over its blocks of :data:`NOISE_BLOCK` columns of:
        the interquartile range of the differences :data:`NOISE_LAG` columns apart
        (unmoved by a slow swell); the ratio of the lower tail of the block's levels
        (a straight line through them taken out) to the upper (median minus 10th
        percentile over 90th minus median: a log-exponential's long lower tail); and
        the differences' interquartile range over the levels' (small for a level
        that moves slowly, large for one that jumps); and how much the blocks'
        spreads differ along the row (their interquartile range over their median:
        noise's are alike, a row of speech and pauses is not); and the median
        correlation of the levels with those :data:`NOISE_COUPLING_BINS` rows up
        (noise's bins fluctuate apart, a burst or a click moves them together; NaN in
        the top rows).  NaN for a row with fewer than
        :data:`NOISE_MIN_ROW_BLOCKS` blocks wholly on the colormap.
    """
    Z = np.asarray(rows, np.float64)
    nb = Z.shape[1] // NOISE_BLOCK if Z.ndim == 2 and Z.shape[0] > 4 else 0
    if nb == 0:
        return (np.zeros(0),) * 5
    X = Z[2:-2, : nb * NOISE_BLOCK].reshape(Z.shape[0] - 4, nb, NOISE_BLOCK)
    t = np.arange(NOISE_BLOCK) - (NOISE_BLOCK - 1) / 2
    slope = np.sum(X * t, axis=-1, keepdims=True) / np.sum(t * t)
    R = X - slope * t
    q10, q25, q50, q75, q90 = np.percentile(R, [10, 25, 50, 75, 90], axis=-1)
    D = X[..., NOISE_LAG:] - X[..., :-NOISE_LAG]
    d25, d75 = np.percentile(D, [25, 75], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tail = (q50 - q10) / (q90 - q50)
        lag = (d75 - d25) / (q75 - q25)
    spread = d75 - d25
    # bins a few apart fluctuate independently in noise; a burst moves them together
    C = R - R.mean(axis=-1, keepdims=True)
    k = NOISE_COUPLING_BINS
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.sum(C[:-k] * C[k:], axis=-1) / np.sqrt(
            np.sum(C[:-k] ** 2, axis=-1) * np.sum(C[k:] ** 2, axis=-1)
        )
    corr = np.concatenate([corr, np.full((k, nb), np.nan)])
    ok = np.isfinite(tail) & np.isfinite(lag) & (spread >= NOISE_MIN_SPREAD)
    enough = ok.sum(axis=1) >= min(NOISE_MIN_ROW_BLOCKS, nb)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows of NaN
        sp = np.where(ok, spread, np.nan)
        s25, s50, s75 = np.nanpercentile(sp, [25, 50, 75], axis=1)

        def med(v):
            return np.where(enough, np.nanmedian(np.where(ok, v, np.nan), axis=1), np.nan)

        steady = np.where(enough, (s75 - s25) / s50, np.nan)
        return med(spread), med(tail), med(lag), steady, med(corr)


class NoiseRuler:
    """What drawn white noise looks like at a picture's geometry: its spread per dB
    and the bands of shape a row of noise falls in (:func:`noise_statistics` of
    :func:`spec2img.wild.redraw.drawn_noise`)."""

    def __init__(self, rows: np.ndarray, top_db: float):
        spread, tail, lag, steady, coupled = noise_statistics(rows)
        ok = np.isfinite(spread) & np.isfinite(tail) & np.isfinite(lag) & np.isfinite(steady)
        ok &= np.isfinite(coupled)
        if ok.sum() < 8:
            raise ValueError("too few rows of drawn noise")
        self.spread_db = float(np.median(spread[ok])) * top_db
        self.tail = _band(tail[ok])
        self.lag = _band(lag[ok])
        self.steady = _band(steady[ok])
        self.coupled = _band(coupled[ok])

    def __repr__(self) -> str:
        return (f"NoiseRuler(spread_db={self.spread_db:.2f}, tail={self.tail[0]:.2f}.."
                f"{self.tail[1]:.2f}, lag={self.lag[0]:.2f}..{self.lag[1]:.2f}, "
                f"steady={self.steady[0]:.2f}..{self.steady[1]:.2f}, "
                f"coupled={self.coupled[0]:.2f}..{self.coupled[1]:.2f})")  # fmt: skip


def _band(v: np.ndarray) -> tuple[float, float]:
    """Where rows of drawn noise fall: their middle, widened by their spread."""
    lo, mid, hi = np.percentile(v, [10, 50, 90])
    half = NOISE_BAND * max(mid - lo, hi - mid)
    return float(mid - half), float(mid + half)


def range_from_noise(rows: np.ndarray, ruler: NoiseRuler) -> tuple[float, int] | None:
    """The plot's range from the spread of its noise-like rows.

    Returns ``(range, rows)`` or ``None`` when fewer than :data:`NOISE_MIN_SHARE` of
    the rows look like noise.  A row looks like noise when its tail and lag ratios
    (:func:`noise_statistics`) lie in the bands rows of drawn white noise fill
    (:class:`NoiseRuler`); each such row gives ``spread_db / spread``, and the
    median is the estimate.
    """
    spread, tail, lag, steady, coupled = noise_statistics(rows)
    if spread.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        ok = (tail >= ruler.tail[0]) & (tail <= ruler.tail[1])
        ok &= (lag >= ruler.lag[0]) & (lag <= ruler.lag[1])
        ok &= (steady <= ruler.steady[1]) & (coupled <= ruler.coupled[1])
    n = int(ok.sum())
    if n < max(NOISE_MIN_ROWS, NOISE_MIN_SHARE * spread.size):
        return None
    est = float(np.median(ruler.spread_db / spread[ok]))
    if not 10.0 <= est <= 1000.0:
        return None
    return est, n


#: Most frames a pixel column may show for :func:`range_from_dips`: where more are
#: blended into a column, a row's dips are its sound's own pauses, not its cells'.
DIP_MAX_FRAMES_PER_COLUMN = 1.0
#: Pixel columns of the running medians the dips are measured below; the ruler holds
#: only where both give the same range (within :data:`DIP_AGREE`).
DIP_WINDOWS = (9, 13)
DIP_AGREE = 0.1
#: Depth (dB) below the running median from which a dip's excess is measured: deep
#: enough that a cell's power is on the straight part of its distribution's foot.
DIP_DEPTH_DB = 10.0
#: Least dips beyond that depth the picture must hold.
DIP_MIN_COUNT = 200
#: Most a picture's deep dips may gather in a column, against drawn noise's: how much
#: likelier a dip is :data:`NOISE_COUPLING_BINS` rows above a dip than anywhere (a
#: crackle's gaps empty a whole column: 3.8x drawn noise's; the tune set 1.1-1.9x).
DIP_MAX_COUPLING = 2.5
#: The range (dB) and the seeds of the white noise drawn to calibrate the dips.
DIP_DRAWN_TOP_DB = 150.0
DIP_DRAWN_SEEDS = (0, 1, 2)


def dip_field(rows: np.ndarray, columns: int) -> np.ndarray:
    """Each level of ``rows`` but the two rows at each end, minus the running median
    of ``columns`` pixel columns along its row (levels; negative: a dip; NaN where
    the picture gave no level)."""
    from scipy.ndimage import median_filter

    Z = np.asarray(rows, np.float64)[2:-2]
    if Z.size == 0:
        return Z
    return Z - median_filter(np.nan_to_num(Z, nan=0.0), size=(1, columns), mode="nearest")


def dip_depths(field: np.ndarray) -> np.ndarray:
    """The finite values of a :func:`dip_field`."""
    return field[np.isfinite(field)]


def dip_coupling(field: np.ndarray, below: float) -> float:
    """How much likelier a dip deeper than ``below`` levels is :data:`NOISE_COUPLING_BINS`
    rows above such a dip than anywhere (1 for cells that dip independently), in a
    :func:`dip_field`."""
    with np.errstate(invalid="ignore"):
        D = field < -below
    k = NOISE_COUPLING_BINS
    lo, hi = D[:-k], D[k:]
    p = hi.mean() if hi.size else 0.0
    if p == 0 or not lo.any():
        return math.inf
    return float((lo & hi).sum() / lo.sum() / p)


def _dip_rate(depths: np.ndarray, below: float) -> tuple[float, int]:
    """The exponential rate (per level) of the dips beyond ``below`` levels, and how
    many there are: the maximum-likelihood slope of the foot (Hill's estimator)."""
    excess = -depths[depths < -below] - below
    if excess.size < DIP_MIN_COUNT or not np.any(excess > 0):
        return math.nan, int(excess.size)
    return 1.0 / float(np.mean(excess)), int(excess.size)


def range_from_dips(
    rows: np.ndarray, drawn: list[tuple[np.ndarray, float]]
) -> tuple[float, int] | None:
    """The plot's range from how deep its cells dip below their row's running median.

    Parameters
    ----------
    rows : np.ndarray [shape=(bins, columns)]
        Levels at each bin's centre row, a pixel column showing at most
        :data:`DIP_MAX_FRAMES_PER_COLUMN` frames.
    drawn : list of (np.ndarray, float)
        The same of white noise drawn by the same tool at the same geometry
        (:func:`spec2img.wild.redraw.drawn_noise`), and the range its colours span:
        several drawings, at a fixed range of :data:`DIP_DRAWN_TOP_DB` (drawn over
        the noise's own 60-90 dB the rate per dB moved with that range by 10-20 %).

    Returns
    -------
    (float, int) or None
        The range and the number of dips measured, or ``None`` when there are fewer
        than :data:`DIP_MIN_COUNT`, the two running medians disagree, or the dips
        gather in columns (:data:`DIP_MAX_COUPLING`: bursts and gaps, not cells).

    Notes
    -----
    A periodogram cell's power, wherever the sound has a random part, is its
    expected power times an exponential variable, whose density is flat near zero:
    in dB the dips below a cell's surroundings fall off as ``10 ** (x / 10)``,
    whatever the level, the row or the sound, so the rate at which their count falls
    with depth is a ruler (in levels: that rate times the range).  Drawing changes
    it a little (colours blended, rounded), which white noise drawn the same way
    measures.  Tones do not dip and pauses are slow next to a frame, so a picture
    that shows each frame (2-s figures, large figures) is read from its sound's
    random part.  Where several frames are blended into a column the cells' dips are
    averaged away and the pauses of speech and music are all that dips: not used
    (0.3-0.7x on the tune set's 8-s figures).  Iterated from 150 dB, since the depth
    is in dB.
    """
    ests, fields = [], []  # each window's running medians, for the coupling test too
    for columns in DIP_WINDOWS:
        field = dip_field(rows, columns)
        drawn_fields = [(dip_field(r, columns), top) for r, top in drawn]
        fields.append((field, drawn_fields))
        # the drawings' dips in dB, pooled: the rate per dB
        pooled = np.concatenate([dip_depths(f) * top for f, top in drawn_fields])
        ref, _ = _dip_rate(pooled, DIP_DEPTH_DB)
        if not math.isfinite(ref):
            return None
        depths = dip_depths(field)
        est, n = 150.0, 0
        for _ in range(8):
            rate, n = _dip_rate(depths, DIP_DEPTH_DB / est)
            if not math.isfinite(rate):
                return None
            est = rate / ref
            if not 10.0 <= est <= 1000.0:
                return None
        ests.append((est, n))
    (est, n), (other, _) = ests
    if abs(other / est - 1) > DIP_AGREE:
        return None
    field, drawn_fields = fields[0]  # the first window's
    ref = np.mean([dip_coupling(f, DIP_DEPTH_DB / top) for f, top in drawn_fields])
    if dip_coupling(field, DIP_DEPTH_DB / est) > DIP_MAX_COUPLING * ref:
        return None
    return est, n


def drawing_tool(spec) -> str | None:
    """The tool whose drawing :func:`spec2img.wild.redraw.drawn_noise` repeats for
    ``spec``, with its framing: ``(tool, n_fft, hop)``; ``None`` for other pictures."""
    p = spec.params
    if spec.drawn_window == ("tukey", 0.25):
        return "scipy", p.n_fft, p.n_fft - p.n_fft // 8
    if spec.first_frame > 0 and spec.y_axis == "linear":  # plt.specgram's framing
        return "specgram", p.n_fft, p.n_fft // 2
    return None


def estimate_range(levels: np.ndarray, rows: np.ndarray, spec, area, rows_of) -> tuple[float, str]:
    """The dB range of a picture that does not say it, and how it was found.

    The rulers are tried in order, and the first that holds wins: the shapes of
    steady peaks (:func:`range_from_peaks`, a few per cent where the picture has
    tones), then the spread of noise-like rows against white noise drawn by the
    same tool at the same geometry (:func:`range_from_noise`), then, on a
    ``plt.specgram`` picture with a pixel column or more a frame, the depth of its
    cells' dips against that drawing (:func:`range_from_dips`), then phase
    retrieval's consistency (:func:`estimate_top_db`, within about 30 % on music and
    speech, far off on noise and clicks).

    Parameters
    ----------
    levels : np.ndarray [shape=(channels, n_bins, frames)]
        The cells' colormap values (for the consistency estimate).
    rows : np.ndarray [shape=(n_bins, columns)]
        The pixel row through each bin's centre (for the peaks and the noise).
    spec : spec2img.wild.plain.PlainSpec
    area : spec2img.wild.raster.PlotArea
        The plot's box in pixels: the size the calibration noise is drawn at.
    rows_of : callable
        ``rows_of(rgba, colormap)``: ``rows`` of a picture in memory whose plot fills
        it (:func:`spec2img.wild.plain.centre_rows_of` for ``spec``).

    Returns
    -------
    (float, str)
        The range in dB and a phrase for ``info`` saying which ruler gave it.
    """
    p = spec.params
    window = spec.drawn_window or p.window
    tool = drawing_tool(spec)
    peak_rows = rows
    if tool is not None and rows.shape[1]:
        # where a frame spans several pixel columns, neighbouring columns repeat it and
        # any peak (a noise band's too) looks steady: keep columns a frame apart
        frames = spec.n_columns * p.hop_length / tool[2]
        peak_rows = rows[:, :: max(1, math.ceil(rows.shape[1] / max(frames, 1.0) - 0.05))]
    found = range_from_peaks(peak_rows, window, p.n_fft) if window in PEAK_WINDOWS else None
    if found is not None:
        return found[0], f"shapes of {found[1]} steady peaks"
    if tool is not None:
        from .colormap import ColormapInverse
        from .redraw import drawn_noise

        name, n_fft, hop = tool
        cmap = spec.cmap if spec.lut is None else "viridis"
        rgba, top_db, _ = drawn_noise(
            name, sr=p.sample_rate, n_samples=spec.n_samples, n_fft=n_fft, hop_length=hop,
            width=area.right - area.left, height=area.bottom - area.top, cmap=cmap,
        )  # fmt: skip
        drawn_rows = rows_of(rgba, ColormapInverse(cmap))
        try:
            ruler = NoiseRuler(drawn_rows, top_db)
        except ValueError:
            ruler = None
        found = range_from_noise(rows, ruler) if ruler is not None else None
        if found is not None:
            return found[0], f"spread of {found[1]} noise-like rows"
        frames = spec.n_columns * p.hop_length / hop
        if name == "specgram" and frames <= DIP_MAX_FRAMES_PER_COLUMN * rows.shape[1]:
            drawn = []
            for seed in DIP_DRAWN_SEEDS:
                rgba, top_db, _ = drawn_noise(
                    name, sr=p.sample_rate, n_samples=spec.n_samples, n_fft=n_fft,
                    hop_length=hop, width=area.right - area.left,
                    height=area.bottom - area.top, cmap=cmap, seed=seed,
                    top_db=DIP_DRAWN_TOP_DB,
                )  # fmt: skip
                drawn.append((rows_of(rgba, ColormapInverse(cmap)), top_db))
            found = range_from_dips(rows, drawn)
            if found is not None:
                return found[0], f"depth of {found[1]} dips below their rows"
    return estimate_top_db(levels, spec.params), "consistency"
