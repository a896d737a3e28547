"""spec2img: audio to editable 16-bit spectrogram images, and images back to audio.

The public API is listed once, in ``__init__.pyi``: type checkers read its signatures
there, and lazy_loader resolves each name from its module on first use, so that
``spec2img --help`` does not pay for numpy and scipy.
"""

import lazy_loader as _lazy

__version__ = "0.1.0"

_stub_getattr, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
__all__ = ["__version__", *__all__]


def __getattr__(name: str):
    # `edit` is the editor's package, callable (spec2img.edit(...) is
    # spec2img.edit.widget.edit; spec2img.edit.session stays reachable): the stub gives
    # type checkers the function's signature, the runtime value is always the package.
    if name == "edit":
        import importlib

        return importlib.import_module(".edit", __name__)
    return _stub_getattr(name)
