"""What an image is, decided once, from its header, and handed on as one value.

:func:`identify` reads a file's header (:func:`spec2img.io.png.read_header`, the one
reader of untrusted headers) once and decides how the image is read:

- ``"spec2img"``: spec2img's own metadata, from its ``spec2img:`` text chunks, or the
  compact copy in its ``Comment`` or Exif that editors keep;
- ``"edited"``: a spec2img image an editor stripped of its metadata, given back by
  ``params_from`` (its original), whose size fits them;
- ``"riffusion"``: Riffusion's parameters in EXIF tags (or ``preset="riffusion"``);
- ``"plain"``: anything else (a plot, a sox PNG, an audio-diffusion image, a GAN's
  output), read with the options given, a preset's conventions, and what the image
  itself shows (:func:`spec2img.wild.presets.resolve`, handed this header).

Every face (decode, info, show, edit, the batch runners) and the Python
:func:`spec2img.load_image` consume the :class:`Identity`; nothing else decides what an
image is.  A header that cannot be read is kept as its error, raised by whoever needs
the header, so that the usual checks (the output, the options) still come first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, MetadataError, Spec2ImgError
from ..io.image import fits_shape
from ..io.params_from import read_params
from ..io.png import ImageHeader, check_pixels, read_header
from ..options import PlainOptions
from ..params import Metadata
from .riffusion import is_riffusion

#: How :func:`identify` reads an image.
KINDS = ("spec2img", "edited", "riffusion", "plain")
#: Where the parameters of a spec2img or Riffusion image come from, as ``info`` says.
RIFFUSION_EXIF = "Riffusion EXIF"
RIFFUSION_DEFAULTS = "Riffusion's defaults"


@dataclass(frozen=True)
class Identity:
    """What an image is and where its parameters come from.

    Attributes
    ----------
    path : path-like
        The file, as given.
    kind : str
        One of :data:`KINDS`.
    header : ImageHeader or None
        The header, read once; ``None`` when it could not be read (``error`` says why).
    error : Spec2ImgError or None
        Why the header could not be read; raised by :meth:`need_header`.
    options : dict
        The plain-image options the image is read with (:class:`~spec2img.options.
        PlainOptions` fields that were given; a spec2img image read as a plain one
        takes its own parameters: ``params_from`` is the image itself).
    meta : Metadata or None
        ``"edited"``: the metadata ``params_from`` gives back.
    source : str
        Where the parameters come from: ``"text chunks"``, ``"Comment"``, ``"Exif"``,
        ``"params-from"``, ``"Riffusion EXIF"``, ``"Riffusion's defaults"``; ``""`` for
        plain images (:func:`spec2img.wild.presets.resolve` says it per parameter).
    tool : str or None
        The preset named in the options, the one the header identifies (sox's
        palette), or the one the figure's reading identifies (``specgram``,
        ``scipy-power``), for plain images.
    detected : str or None
        The preset the image itself shows without doubt (sox, by its palette or its
        layout), found once here for :func:`spec2img.wild.presets.resolve`.
    figure : spec2img.wild.figure.FigureReading or None
        A plain image's axes, colours and colour bar, read once here
        (:func:`spec2img.wild.figure.read_figure`) for every face; ``None`` where a
        preset or ``params_from`` says everything (sox, audio-diffusion, spec2img
        images read as plain ones).
    """

    path: Any
    kind: str
    header: ImageHeader | None
    error: Spec2ImgError | None = None
    options: dict = field(default_factory=dict)
    meta: Metadata | None = None
    source: str = ""
    tool: str | None = None
    figure: Any = None
    detected: str | None = None

    def need_header(self) -> ImageHeader:
        """The header, or the error that kept it from being read."""
        if self.error is not None:
            raise self.error
        return self.header

    def own_metadata(self) -> dict:
        """The spec2img metadata the file itself carries, as a dict (``{}``: none, or
        none readable), for manifests."""
        if self.header is None or not self.header.text:
            return {}
        try:
            return Metadata.from_text(self.header.text).to_dict()
        except MetadataError:
            return {}


def identify(
    path: str | os.PathLike,
    plain: PlainOptions | Mapping | None = None,
    *,
    max_pixels: int | None = None,
) -> Identity:
    """Read ``path``'s header once and decide how the image is read.

    Parameters
    ----------
    path : path-like
    plain : PlainOptions, mapping or None
        Options for an image without spec2img metadata (see
        :func:`spec2img.load_image`); given (and not empty), the image is read as a
        plain image, unless they are only ``params_from`` for an image an editor
        stripped, or name the ``riffusion`` preset.
    max_pixels : int or None
        Pixel limit of an edited image (checked before its size is compared with
        ``params_from``'s; other kinds are checked by their loaders).

    Returns
    -------
    Identity

    Raises
    ------
    Spec2ImgError
        Only ``params_from`` that cannot be read, or an edited image beyond
        ``max_pixels``; a header that cannot be read is kept in the identity.
    """
    if not isinstance(plain, PlainOptions):
        plain = PlainOptions(**{k: v for k, v in (plain or {}).items() if v is not None})
    options = plain.given()
    try:
        header, error = read_header(path, max_pixels=None), None
    except Spec2ImgError as e:  # its loader reports it, after the usual checks
        header, error = None, e
    if header is None or header.text:
        found = "spec2img"
    elif is_riffusion(header.exif_tags()):
        found = "riffusion"
    else:
        found = "plain"
    preset = options.get("preset")

    def identity(kind, **kw) -> Identity:
        return Identity(path, kind, header, error, **{"options": options, **kw})

    if found == "plain" and set(options) == {"params_from"}:
        given = options["params_from"]
        meta = given if isinstance(given, Metadata) else read_params(given)
        check_pixels(Path(path), header, max_pixels)
        if fits_shape((header.height, header.width), meta):
            return identity("edited", meta=meta, source="params-from")
    if not options and found == "spec2img":
        return identity("spec2img", source=header.source if header is not None else "")
    if preset == "riffusion" or (found == "riffusion" and preset is None):
        source = RIFFUSION_EXIF if found == "riffusion" else RIFFUSION_DEFAULTS
        return identity("riffusion", source=source)
    if found == "spec2img" and "params_from" not in options and preset is None:
        options["params_from"] = path  # its own parameters, read as a plain image's
    tool = preset
    detected = None
    if header is not None and "params_from" not in options and preset in (None, "sox"):
        from .presets import detect

        detected = detect(header, path)
        tool = tool or detected
    figure = None
    if header is not None and "params_from" not in options:
        from .presets import FIGURE_PRESETS

        if tool is None or tool in FIGURE_PRESETS:  # a figure: read what it shows
            from .figure import read_figure

            try:
                figure = read_figure(path, crop=options.get("crop"), max_pixels=max_pixels)
            except InputError as e:  # broken pixels: kept like a broken header
                return Identity(path, "plain", header, e, options=options, tool=tool)
            if tool is None and figure.tool in FIGURE_PRESETS:
                tool = figure.tool
    return identity("plain", tool=tool, figure=figure, detected=detected)
