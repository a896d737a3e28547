"""Which kind of image a file is, from its header alone.

spec2img's own images carry ``spec2img:`` text chunks; Riffusion's carry their
parameters in EXIF tags; anything else is a plain image (a plot, a JPEG, a GAN's
output) that needs its parameters given.
"""

from __future__ import annotations

from ..errors import Spec2ImgError
from ..io.png import read_header
from .riffusion import is_riffusion

#: The kinds :func:`image_kind` tells apart.
KINDS = ("spec2img", "riffusion", "plain")


def image_kind(path) -> str:
    """``"spec2img"``, ``"riffusion"`` or ``"plain"``, from the image's header.

    Read with the bounded header reader (:func:`spec2img.io.png.read_header`), so no
    pixel is decoded.  A file whose header cannot be read counts as ``"spec2img"``:
    its loader then reports what is wrong with it.
    """
    try:
        header = read_header(path, max_pixels=None)
    except Spec2ImgError:
        return "spec2img"
    if header.text:
        return "spec2img"
    if is_riffusion(header.exif_tags()):
        return "riffusion"
    return "plain"
