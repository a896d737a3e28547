"""Inverting a matplotlib colormap: from pixel colours back to values in [0, 1].

A colour is mapped to the nearest point on the colormap's curve through RGB space
(nearest lookup-table entry, refined by projection onto the segments on either side),
not to its luminance: luminance is not a linear function of the value for perceptual
colormaps such as magma, and it throws away the hue that tells dark colours apart.

Every distinct 24-bit colour is solved once and remembered in a table indexed by the
packed colour, so a huge image costs one table look-up per pixel.  matplotlib is
imported here and only here (and in the preview module).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

#: Distance (in 8-bit RGB units) beyond which a colour is taken not to belong to the
#: colormap at all (text, annotations, axes) and is left out of the averages.
FOREIGN_DISTANCE = 96.0
_UNSOLVED = np.uint16(65535)
_LEVEL_MAX = 65534.0


def colormap_lut(name: str) -> np.ndarray:
    """The lookup table of a matplotlib colormap, ``(N, 3)`` float64 in 0..255."""
    import matplotlib

    if not isinstance(name, str) or not name:
        raise ParameterError(f"cmap must be a matplotlib colormap name, not {name!r}")
    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        known = ", ".join(sorted(n for n in matplotlib.colormaps if not n.endswith("_r"))[:12])
        raise ParameterError(
            f"unknown colormap {name!r}; use a matplotlib colormap name such as gray, "
            f"gray_r, magma, viridis, inferno ({known}, ...)"
        ) from None
    return np.asarray(cmap(np.arange(cmap.N)), dtype=np.float64)[:, :3] * 255.0


class ColormapInverse:
    """Map pixel colours of an image drawn with one colormap back to values.

    Parameters
    ----------
    name : str
        A matplotlib colormap name (``gray``, ``gray_r``, ``magma``, ``viridis``, ...),
        or a label for ``lut``.
    lut : np.ndarray [shape=(N, 3)] or None
        The colours themselves, first to last, in 0..255 (read from a colour bar or a
        palette); ``None``: those of the colormap ``name``.

    Attributes
    ----------
    is_gray : bool
        Every entry of the colormap is a shade of gray (``gray``, ``gray_r``,
        ``Greys``, ``binary``): single-channel images can be read with it.
    """

    def __init__(self, name: str, lut: np.ndarray | None = None) -> None:
        self.name = name
        if lut is None:
            self.lut = colormap_lut(name)
        else:
            self.lut = np.asarray(lut, dtype=np.float64).reshape(-1, 3)
            if len(self.lut) < 2 or not np.all(np.isfinite(self.lut)):
                raise ParameterError(f"colormap {name!r} needs at least two finite colours")
        self.n = len(self.lut)
        self.is_gray = bool(np.ptp(self.lut, axis=1).max() <= 1.0)
        self._tree = None
        self._table: np.ndarray | None = None
        self._far: np.ndarray | None = None
        self._gray_tables: dict = {}

    def gray_levels(self, values: np.ndarray, max_value: float) -> np.ndarray:
        """Values of single-channel pixels ``0..max_value`` (float32 in [0, 1]).

        The gray colormaps are monotonic, so the inverse is an interpolation at full
        precision (16-bit images keep their 65536 levels).
        """
        if not self.is_gray:
            raise ParameterError(
                f"the image is grayscale but colormap {self.name!r} has colours; "
                "use cmap gray (or gray_r, Greys, ...) for grayscale images",
                params=("cmap",),
            )
        values = np.asarray(values)
        if values.dtype in (np.uint8, np.uint16) and max_value in (255.0, 65535.0):
            key = (values.dtype.str, max_value)  # whole-range table, indexed per pixel
            table = self._gray_tables.get(key)
            if table is None:
                n = 256 if values.dtype == np.uint8 else 65536
                table = self._gray_curve(np.arange(n, dtype=np.float64) * (255.0 / max_value))
                self._gray_tables[key] = table
            return table[values]
        g = values.astype(np.float64) * (255.0 / max_value)
        return self._gray_curve(g)

    def _gray_curve(self, g: np.ndarray) -> np.ndarray:
        shade = self.lut[:, 0]
        pos = np.arange(self.n, dtype=np.float64)
        if shade[-1] < shade[0]:
            shade, pos = shade[::-1], pos[::-1]
        if np.any(np.diff(shade) < 0):
            raise ParameterError(f"colormap {self.name!r} is not monotonic in brightness")
        return (np.interp(g, shade, pos) / (self.n - 1)).astype(np.float32)

    def pixel_levels(
        self, px: np.ndarray, max_value: float = 255.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values and validity of pixels: ``(h, w)`` single-channel values up to
        ``max_value``, or ``(h, w, 4)`` uint8 RGBA (alpha below 128 is not valid)."""
        if px.ndim == 2:
            return self.gray_levels(px, max_value), np.ones(px.shape, bool)
        level, valid = self.rgb_levels(px[..., :3])
        return level, valid & (px[..., 3] >= 128)

    def rgb_levels(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values and validity of 8-bit RGB pixels.

        Parameters
        ----------
        rgb : np.ndarray [shape=(..., 3), dtype=uint8]

        Returns
        -------
        level : np.ndarray [shape=rgb.shape[:-1], dtype=float32]
            Position along the colormap, 0 (first colour) to 1 (last).
        valid : np.ndarray [shape=rgb.shape[:-1], dtype=bool]
            False for colours far from every colour of the map.
        """
        rgb = np.asarray(rgb, dtype=np.uint8)
        packed = (
            (rgb[..., 0].astype(np.uint32) << 16)
            | (rgb[..., 1].astype(np.uint32) << 8)
            | rgb[..., 2].astype(np.uint32)
        )
        if self._table is None:
            self._table = np.full(1 << 24, _UNSOLVED, np.uint16)
            self._far = np.zeros(1 << 24, bool)
        seen = self._table[packed]
        todo = np.unique(packed[seen == _UNSOLVED])
        if todo.size:
            level, dist = self._solve(todo)
            self._table[todo] = np.rint(level * _LEVEL_MAX).astype(np.uint16)
            self._far[todo] = dist > FOREIGN_DISTANCE
            seen = self._table[packed]
        level = seen.astype(np.float32) * np.float32(1.0 / _LEVEL_MAX)
        return level, ~self._far[packed]

    def _solve(self, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest point on the colormap's polyline for each packed colour."""
        from scipy.spatial import cKDTree

        q = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=1)
        q = q.astype(np.float64)
        if self._tree is None:
            self._tree = cKDTree(self.lut)
        _, k = self._tree.query(q)
        best_pos = k.astype(np.float64)
        best_d2 = np.sum((q - self.lut[k]) ** 2, axis=1)
        exact = best_d2 <= 0.75  # the entry itself, rounded to 8 bits: keep it
        for lo in (k - 1, k):  # the segments [k-1, k] and [k, k+1]
            ok = (lo >= 0) & (lo + 1 < self.n)
            lo_c = np.clip(lo, 0, self.n - 2)
            p0, p1 = self.lut[lo_c], self.lut[lo_c + 1]
            seg = p1 - p0
            len2 = np.sum(seg * seg, axis=1)
            t = np.sum((q - p0) * seg, axis=1) / np.where(len2 > 0, len2, 1.0)
            t = np.clip(t, 0.0, 1.0)
            d2 = np.sum((q - (p0 + t[:, None] * seg)) ** 2, axis=1)
            better = ok & ~exact & (len2 > 0) & (d2 < best_d2)
            best_pos = np.where(better, lo_c + t, best_pos)
            best_d2 = np.where(better, d2, best_d2)
        return best_pos / (self.n - 1), np.sqrt(best_d2)


#: Colormaps with fewer entries are qualitative (tab10, Set1, ...): no curve to lie on.
_MIN_ENTRIES = 64
#: Mean distance (8-bit RGB units) within which the pixels are taken to lie on a map.
FIT_DISTANCE = 6.0
#: ... or within this, when no other map comes close (JPEG).
LOSSY_DISTANCE = 24.0
#: The colormaps the plotting tools pick by themselves.
TOOL_DEFAULTS = ("magma", "viridis", "coolwarm", "gray")


def identify_colormap(rgb: np.ndarray) -> tuple[str, float] | None:
    """The registered matplotlib colormap whose curve the colours lie on.

    Parameters
    ----------
    rgb : np.ndarray [shape=(n, 3), dtype=uint8]
        Colours sampled from the plot area (text and lines may be among them).

    Returns
    -------
    (name, distance) or None
        The best map and the mean distance of the colours from its curve (the nearest
        90 % of them: labels and frame lines drawn over the data do not count), or
        ``None`` if no map comes within :data:`FIT_DISTANCE`.  A map and its reverse
        (``magma_r``) share a curve: the forward name is returned, and the caller
        decides the direction (from a colour bar, say).
    """
    import matplotlib
    from scipy.spatial import cKDTree

    rgb = np.asarray(rgb, np.uint8).reshape(-1, 3)
    packed = np.unique(
        (rgb[:, 0].astype(np.uint32) << 16) | (rgb[:, 1].astype(np.uint32) << 8) | rgb[:, 2]
    )
    colours = np.stack([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255], axis=1)
    colours = colours.astype(np.float64)
    if len(colours) > 4096:  # a spread of distinct colours is as telling as all of them
        idx = np.random.default_rng(0).choice(len(colours), 4096, replace=False)
        colours = colours[idx]
    if len(colours) < 8:
        return None
    scores = []
    for name in sorted(matplotlib.colormaps):
        if name.endswith("_r"):
            continue
        cmap = matplotlib.colormaps[name]
        if cmap.N < _MIN_ENTRIES:
            continue
        lut = np.asarray(cmap(np.linspace(0, 1, 1024)), np.float64)[:, :3] * 255.0
        d, _ = cKDTree(lut).query(colours)
        k = max(1, int(0.9 * len(d)))
        scores.append((float(np.mean(np.partition(d, k - 1)[:k])), name))
    if not scores:
        return None
    scores.sort()
    best = scores[0][0]
    for d, name in scores:  # the tools' own defaults win a near tie
        if name in TOOL_DEFAULTS and d <= 1.1 * best:
            scores.remove((d, name))
            scores.insert(0, (d, name))
            break
    (d0, name), d1 = scores[0], scores[1][0] if len(scores) > 1 else np.inf
    # JPEG's chroma subsampling moves colours off the curve: then the best map must at
    # least stand clear of the next
    if d0 <= FIT_DISTANCE or (d0 <= LOSSY_DISTANCE and d1 >= 1.2 * d0):
        return name, d0
    return None


def is_reversed(name: str, lut: np.ndarray) -> bool:
    """Whether colours ``lut`` (first to last, e.g. a colour bar bottom to top) run
    along colormap ``name`` backwards."""
    ref = colormap_lut(name)
    lut = np.asarray(lut, np.float64)
    fwd = np.linalg.norm(lut[0] - ref[0]) + np.linalg.norm(lut[-1] - ref[-1])
    rev = np.linalg.norm(lut[0] - ref[-1]) + np.linalg.norm(lut[-1] - ref[0])
    return bool(rev < fwd)
