"""NMF of a spectrogram image into two editable images: components (W) and activations (H).

``V ≈ W · H`` on the image's own scale (linear bins or mel bands, linear magnitude):
``W`` holds ``K`` spectra, ``H`` says how loud each one is in each frame.  Both are
saved as 16-bit PNGs in the spec2img pixel convention (linear in dB between the image's
``db_min`` and ``db_max``, pixel 0 exactly zero), so darkening a row of
``activations.png`` lowers that component and painting it black silences it.

The two images are linked by text chunks besides the source's own metadata (whose
``db_min``/``db_max`` then describe the factor's pixels)::

    nmf_role        components | activations
    nmf_components  K
    nmf_id          16 hex digits shared by the pair of one decomposition
    nmf_db_min      the source image's db_min and db_max (its dynamic range is
    nmf_db_max      reused when recomposing)
    nmf_source      file name of the source image (information only)

``components.png`` is ``channels * n_bins`` rows (channel 0 on top, low frequencies at
the bottom, as in the source) by ``K`` columns, each column's peak at pixel 65535;
``activations.png`` is ``K`` rows (component 0 on top) by ``n_frames`` columns.
Components are sorted by the frequency of their peak, low to high.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dsp import scale as _scale
from ..errors import InputError, MetadataError, OutputError, ParameterError, in_file
from ..io.atomic import atomic_path, check_output
from ..io.image import SpectrogramImage, _as_uint16, load
from ..io.png import read_png, write_png
from ..options import DEFAULT_OUTPUT, DEFAULT_PHASE, AudioOutput, PhaseOptions
from ..params import Metadata

__all__ = ["Factors", "decompose", "load_factors", "recompose"]

ROLES = ("components", "activations")
FILE_NAMES = {"components": "components.png", "activations": "activations.png"}
#: sklearn's Itakura-Saito updates diverge on spectrogram magnitudes (tried on magnitude
#: and power, floored at -120 dB, three initialisations), so they are not offered.
BETA_LOSSES = ("kullback-leibler", "frobenius")
MAX_COMPONENTS = 4096
#: Dynamic range of the factor images below their peak (cells further down are zero).
FACTOR_TOP_DB = 200.0
_KEYS = ("nmf_role", "nmf_components", "nmf_id", "nmf_db_min", "nmf_db_max", "nmf_source")


@dataclass
class Factors:
    """A non-negative factorisation ``V ≈ W · H`` of a spectrogram image.

    Attributes
    ----------
    W : np.ndarray [shape=(channels, n_bins, K), dtype=float32, non-negative]
        Component spectra, bin 0 = lowest frequency; each column peaks at 1.
    H : np.ndarray [shape=(K, n_frames), dtype=float32, non-negative]
        Activations (linear magnitude gains), shared by the channels.
    meta : Metadata
        The source image's metadata (framing, length, channels, dB range).
    id : str
        Identifier shared by the two images of this decomposition.
    source : str
        File name of the source image, if known.
    """

    W: np.ndarray
    H: np.ndarray
    meta: Metadata
    id: str
    source: str = ""

    @property
    def n_components(self) -> int:
        return self.H.shape[0]

    def spectrogram(self) -> np.ndarray:
        """``W · H`` as ``(channels, n_bins, n_frames)`` magnitude on the image's scale."""
        return np.einsum("cbk,kt->cbt", self.W, self.H, optimize=True).astype(np.float32)

    def to_image(self, *, top_db: float | None = None) -> SpectrogramImage:
        """``W · H`` as a spec2img image (decodable, with the source's framing).

        ``top_db=None`` keeps the source image's dynamic range.
        """
        top_db = self.meta.db_max - self.meta.db_min if top_db is None else top_db
        db = _scale.amplitude_to_db(self.spectrogram())
        db_min, db_max = _scale.db_range(db, top_db)
        m = self.meta
        meta = Metadata(m.params, db_min, db_max, m.n_samples, m.channels)
        return SpectrogramImage.from_blocks(_scale.db_to_pixels(db, db_min, db_max), meta)

    def save(
        self, outdir: str | os.PathLike, *, inputs=(), overwrite: bool = True
    ) -> tuple[Path, Path]:
        """Write ``components.png`` and ``activations.png`` into ``outdir``.

        ``outdir`` is created if its parent exists.  Both files are written to
        temporary names first, so a failure leaves neither behind; with
        ``overwrite=False`` existing ones are refused before any work.
        """
        outdir = Path(outdir)
        if not outdir.is_dir():
            if outdir.exists():
                raise OutputError(f"{outdir}: exists and is not a folder")
            if not (outdir.parent if str(outdir.parent) else Path(".")).is_dir():
                raise OutputError(f"{outdir}: its parent folder {outdir.parent} does not exist")
            try:
                outdir.mkdir()
            except OSError as e:
                raise OutputError(f"{outdir}: cannot create folder: {e.strerror or e}") from None
        paths = {role: outdir / name for role, name in FILE_NAMES.items()}
        for path in paths.values():
            check_output(path, inputs, overwrite=overwrite)
        images = {"components": self._factor_pixels(self.W), "activations": self.H}
        with atomic_path(paths["components"], inputs, overwrite=overwrite) as tw:
            with atomic_path(paths["activations"], inputs, overwrite=overwrite) as th:
                for role, tmp in (("components", tw), ("activations", th)):
                    pixels, text = self._encode(role, images[role])
                    write_png(tmp, pixels, text)
        return paths["components"], paths["activations"]

    def _factor_pixels(self, W: np.ndarray) -> np.ndarray:
        c, b, k = W.shape
        return W[:, ::-1, :].reshape(c * b, k)

    def _encode(self, role: str, values: np.ndarray) -> tuple[np.ndarray, dict[str, str]]:
        db = _scale.amplitude_to_db(values)
        db_min, db_max = _scale.db_range(db, FACTOR_TOP_DB)
        pixels = _scale.db_to_pixels(db, db_min, db_max)
        m = self.meta
        extra = {
            "nmf_role": role,
            "nmf_components": str(self.n_components),
            "nmf_id": self.id,
            "nmf_db_min": repr(float(m.db_min)),
            "nmf_db_max": repr(float(m.db_max)),
            "nmf_source": _safe_name(self.source),
        }
        meta = Metadata(m.params, db_min, db_max, m.n_samples, m.channels, extra=extra)
        return pixels, meta.to_text()


def decompose(
    image: SpectrogramImage | str | os.PathLike,
    n_components: int,
    *,
    seed: int | None = 0,
    beta_loss: str = "kullback-leibler",
    max_iter: int = 200,
    workers: int | None = None,
) -> Factors:
    """Factor a spectrogram image's magnitude with NMF (sklearn, via librosa).

    Parameters
    ----------
    image : SpectrogramImage or path-like
        A spec2img image (or its file).  Channels are stacked along frequency, so
        each component has one spectrum per channel and one activation row.
    n_components : int in [1, 4096]
        ``K``, the number of components.
    seed : int or None
        Seed of the initialisation: the same seed gives the same factors.
    beta_loss : {"kullback-leibler", "frobenius"}
        Divergence minimised (multiplicative updates; coordinate descent for
        Frobenius).  Kullback-Leibler suits magnitude spectrograms.
    max_iter : int > 0
        Iterations at most.
    workers : int or None
        BLAS threads; ``None`` means 1 (on a busy 2-core machine, more threads made
        sklearn's updates 20 times slower).

    Returns
    -------
    Factors
        ``.save(outdir)`` writes ``components.png`` and ``activations.png``.

    Examples
    --------
    >>> f = spec2img.decompose("song.png", 16)  # doctest: +SKIP
    >>> f.save("song_nmf")  # doctest: +SKIP
    """
    import librosa
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    source = ""
    if not isinstance(image, SpectrogramImage):
        source = Path(image).name
        image = load(image)
    if isinstance(n_components, bool) or not isinstance(n_components, int | np.integer):
        raise ParameterError(f"n_components must be a whole number, not {n_components!r}")
    if not 1 <= n_components <= MAX_COMPONENTS:
        raise ParameterError(f"n_components={n_components} is out of range [1, {MAX_COMPONENTS}]")
    if beta_loss not in BETA_LOSSES:
        raise ParameterError(f"beta_loss must be one of {list(BETA_LOSSES)}, not {beta_loss!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ParameterError(f"max_iter must be a whole number > 0, not {max_iter!r}")
    V = image.magnitude()  # (channels, n_bins, n_frames)
    c, b, t = V.shape
    V2 = V.reshape(c * b, t).astype(np.float64)
    peak = float(V2.max())
    if peak <= 0:
        raise InputError("the image is silent: there is nothing to decompose")
    V2 = V2 / peak  # unit scale; the peak goes back into H
    k = int(n_components)
    options = {
        "beta_loss": beta_loss,
        "solver": "cd" if beta_loss == "frobenius" else "mu",
        "init": "nndsvda" if k <= min(V2.shape) else "random",
        "max_iter": int(max_iter),
        "random_state": seed,
        "tol": 1e-5,
    }
    with warnings.catch_warnings(), threadpool_limits(limits=workers or 1, user_api="blas"):
        warnings.filterwarnings("ignore", message=".*[Mm]aximum number of iterations.*")
        W, H = librosa.decompose.decompose(V2, n_components=k, sort=True, **options)
    W = np.maximum(W, 0)
    H = np.maximum(H, 0) * peak
    scale = W.max(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    W = (W / scale).astype(np.float32).reshape(c, b, k)
    H = (H * scale[:, None]).astype(np.float32)
    digest = hashlib.sha256(W.tobytes() + H.tobytes())
    digest.update(repr(sorted(image.meta.to_text().items())).encode())
    return Factors(W, H, image.meta, digest.hexdigest()[:16], source)


def load_factors(components: str | os.PathLike, activations: str | os.PathLike) -> Factors:
    """Read ``components.png`` and ``activations.png`` and check that they belong together.

    Raises
    ------
    MetadataError
        An image is not an NMF factor, is the other role, has the wrong size, or
        the two come from different decompositions.
    """
    W_pixels, W_meta, source_meta = _read_factor(components, "components")
    H_pixels, H_meta, _ = _read_factor(activations, "activations")
    k_w, k_h = int(W_meta.extra["nmf_components"]), int(H_meta.extra["nmf_components"])
    if W_meta.extra["nmf_id"] != H_meta.extra["nmf_id"] or k_w != k_h:
        raise MetadataError(
            f"{components} and {activations} come from different decompositions "
            f"(nmf_id {W_meta.extra['nmf_id']} and {H_meta.extra['nmf_id']})"
        )
    if _source_keys(W_meta) != _source_keys(H_meta):
        raise MetadataError(f"{components} and {activations} describe different sources")
    c, b = W_meta.channels, W_meta.params.n_bins
    if W_pixels.shape != (c * b, k_w):
        raise MetadataError(
            f"{components}: image is {W_pixels.shape[1]}x{W_pixels.shape[0]}, but its metadata "
            f"says {k_w}x{c * b} ({k_w} components, {c} channel(s) x {b} bins)"
        )
    n_frames = H_meta.n_frames
    if H_pixels.shape[0] != k_h or abs(H_pixels.shape[1] - n_frames) > 1:
        raise MetadataError(
            f"{activations}: image is {H_pixels.shape[1]}x{H_pixels.shape[0]}, but its metadata "
            f"says {n_frames}x{k_h} ({n_frames} frames, {k_h} components)"
        )
    W = _scale.pixels_to_amplitude(W_pixels, W_meta.db_min, W_meta.db_max)
    W = W.reshape(c, b, k_w)[:, ::-1, :]
    H = _scale.pixels_to_amplitude(H_pixels, H_meta.db_min, H_meta.db_max)
    if H.shape[1] != n_frames:  # one frame more or less: trim or repeat the edge
        H = H[:, :n_frames] if H.shape[1] > n_frames else np.pad(H, [(0, 0), (0, 1)], "edge")
    m = W_meta.extra
    return Factors(np.ascontiguousarray(W), H, source_meta, m["nmf_id"], m["nmf_source"])


def recompose(
    components: str | os.PathLike,
    activations: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    top_db: float | None = None,
    subtype: str | None = None,
    normalize: bool = False,
    options: PhaseOptions = DEFAULT_PHASE,
    workers: int | None = None,
    overwrite: bool = True,
):
    """Multiply ``components.png`` by ``activations.png`` into a spectrogram PNG or audio.

    Parameters
    ----------
    components, activations : path-like
        The two images :meth:`Factors.save` wrote (possibly edited).
    dst : path-like
        ``.png``: a spec2img image of ``W · H``; ``.wav``/``.flac``/``.ogg``: audio,
        with the phase recovered.
    top_db : float > 0 or None
        Dynamic range of the output image; ``None`` keeps the source's.
    subtype, normalize
        Audio output, as for :func:`spec2img.image_to_audio`.
    options : PhaseOptions
        Phase retrieval (audio output only).
    workers : int or None
        FFT threads.
    overwrite : bool
        Replace an existing ``dst`` (``False``: :class:`OutputError` before any work).

    Returns
    -------
    SpectrogramImage for a PNG, ``(y, sr)`` for audio.
    """
    return recompose_to_file(
        components, activations, dst, top_db=top_db, phase=options,
        output=AudioOutput(subtype=subtype, normalize=normalize), workers=workers,
        overwrite=overwrite,
    )  # fmt: skip


def recompose_to_file(
    components: str | os.PathLike,
    activations: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    top_db: float | None = None,
    phase: PhaseOptions = DEFAULT_PHASE,
    output: AudioOutput = DEFAULT_OUTPUT,
    workers: int | None = None,
    overwrite: bool = True,
):
    """:func:`recompose` on typed options (the output's ``subtype`` and ``normalize``)."""
    from ..io.audio import output_format, save_audio
    from ..pipeline import decode

    inputs = [components, activations]
    to_png = Path(dst).suffix.lower() == ".png"
    if not to_png:
        output_format(dst, output.subtype)  # fail before the work, not after
    check_output(dst, inputs, overwrite=overwrite)
    factors = load_factors(components, activations)
    image = factors.to_image(top_db=top_db)
    if to_png:
        image.save(dst, inputs=inputs, overwrite=overwrite)
        return image
    try:
        y, sr = decode(image, options=phase, workers=workers)
    except ParameterError as e:
        raise in_file(activations, e) from None
    save_audio(dst, y, sr, subtype=output.subtype, normalize=output.normalize, inputs=inputs,
               overwrite=overwrite)  # fmt: skip
    return y, sr


def _read_factor(path, role: str) -> tuple[np.ndarray, Metadata, Metadata]:
    """Pixels, metadata and the source image's metadata of one factor image."""
    pixels, text, mode = read_png(path)
    if "nmf_role" not in text:
        raise MetadataError(
            f"{path}: not an NMF {role} image (no spec2img nmf_role metadata); "
            "make one with spec2img decompose"
        )
    try:
        meta = Metadata.from_text(text)
    except MetadataError as e:
        raise in_file(path, e) from None
    missing = [k for k in _KEYS if k not in meta.extra]
    if missing:
        raise MetadataError(f"{path}: bad metadata: lacks {', '.join(missing)}")
    got = meta.extra["nmf_role"]
    if got != role:
        order = " (give components.png first, then activations.png)" if got in ROLES else ""
        raise MetadataError(f"{path}: holds NMF {got}, expected {role}{order}")
    k = meta.extra["nmf_components"]
    if not (k.isdigit() and 1 <= int(k) <= MAX_COMPONENTS):
        raise MetadataError(f"{path}: bad metadata: nmf_components={k[:40]!r}")
    nmf_id = meta.extra["nmf_id"]
    if len(nmf_id) != 16 or any(ch not in "0123456789abcdef" for ch in nmf_id):
        raise MetadataError(f"{path}: bad metadata: nmf_id={nmf_id[:40]!r}")
    try:
        lo, hi = float(meta.extra["nmf_db_min"]), float(meta.extra["nmf_db_max"])
        source = Metadata(meta.params, lo, hi, meta.n_samples, meta.channels)
    except (ValueError, ParameterError) as e:
        raise MetadataError(f"{path}: bad metadata: nmf_db_min/nmf_db_max: {e}") from None
    return _as_uint16(path, pixels, mode), meta, source


def _source_keys(meta: Metadata) -> dict:
    d = meta.to_dict()
    for key in ("db_min", "db_max", "nmf_role"):
        d.pop(key, None)
    return d


def _safe_name(name: str) -> str:
    """A file name fit for a one-line text chunk."""
    name = "".join(ch for ch in str(name) if ch.isprintable())
    return name[:200]
