"""``spec2img edit``: a local web page to see, edit and hear a spectrogram, and the same
editor in a notebook cell.

:mod:`.ops` validates edit requests and applies them to pixels, :mod:`.session` holds
the editing state and re-synthesises what an edit changed, :mod:`.server` is the
Starlette app that serves the page in ``static/``, :mod:`.widget` shows that page in a
notebook cell over the kernel's own channel.

The package is callable: ``spec2img.edit(y, sr=sr)`` is :func:`spec2img.edit.widget.edit`.
"""

from __future__ import annotations

import sys
import types


class _CallableModule(types.ModuleType):
    """This package, callable, so that ``spec2img.edit(...)`` opens the editor in a cell
    while ``spec2img.edit.session`` and the other modules stay where they are."""

    def __call__(self, source, /, **kwargs):
        from .widget import edit

        return edit(source, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
