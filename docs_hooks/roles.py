"""MkDocs hook: the docstrings' Sphinx roles (``:func:`name```) shown as plain code.

The docstrings keep numpydoc's roles, which Sphinx and IDEs read; mkdocstrings renders
the backquoted part as code and would leave the role's name before it.
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):(?=<code>)")


def on_page_content(html: str, **kwargs) -> str:
    return _ROLE.sub("", html)
