"""spec2img: audio to editable 16-bit spectrogram images, and images back to audio.

The public API is re-exported here.  The names are resolved on first use (PEP 562) so
that ``spec2img --help`` does not pay for numpy and scipy.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    "encode": "pipeline",
    "decode": "pipeline",
    "audio_to_image": "pipeline",
    "image_to_audio": "pipeline",
    "load_image": "pipeline",
    "load": "io.image",
    "SpectrogramImage": "io.image",
    "SpecParams": "params",
    "Metadata": "params",
    "load_audio": "io.audio",
    "save_audio": "io.audio",
    "Spec2ImgError": "errors",
    "ParameterError": "errors",
    "InputError": "errors",
    "MetadataError": "errors",
    "OutputError": "errors",
    "invert_scipy_spectrogram": "arrays.scipy_compat",
    "SCIPY_WINDOW": "arrays.scipy_compat",
    "to_image": "arrays.spectra",
    "from_array": "arrays.spectra",
    "decompose": "arrays.nmf",
    "recompose": "arrays.nmf",
    "load_factors": "arrays.nmf",
    "Factors": "arrays.nmf",
    "mosaic": "arrays.mosaicing",
    "edit": "edit",  # the package itself, callable: the editor in a notebook cell
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spec2img' has no attribute {name!r}")
    found = importlib.import_module(f".{module}", __name__)
    value = found if module == name else getattr(found, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
