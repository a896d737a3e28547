"""spec2img: audio to editable 16-bit spectrogram images, and images back to audio.

The public API is listed once, in ``__init__.pyi``: type checkers read its signatures
there, and lazy_loader resolves each name from its module on first use, so that
``spec2img --help`` does not pay for numpy and scipy.
"""

import lazy_loader as _lazy

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = ["__version__", *__all__]
