"""``spec2img edit``: a local web page to see, edit and hear a spectrogram.

:mod:`.ops` validates edit requests and applies them to pixels, :mod:`.session` holds
the editing state and re-synthesises what an edit changed, :mod:`.server` is the
Starlette app that serves the page in ``static/``.
"""
