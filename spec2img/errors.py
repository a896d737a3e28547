"""The one family of errors spec2img raises for bad input.

The library raises these; only the CLI turns them into a one-line message and an
exit code.  Each message names the file (when there is one) and the problem.
"""

from __future__ import annotations


class Spec2ImgError(Exception):
    """Base class of every error spec2img raises on purpose.

    Parameters
    ----------
    *args : str
        The message: names the file (when there is one) and the problem, in the
        library's terms: parameters by their Python names (``n_fft``, ``params_from``).
    params : tuple of str
        The parameter names the message mentions, so that a face (the CLI) can show
        them as its own spelling (``--n-fft``).
    template : str or None
        The message with each name of ``params`` as a ``{field}``, for a face that
        respells them.
    """

    exit_code = 1

    def __init__(self, *args, params: tuple[str, ...] = (), template: str | None = None) -> None:
        if template is not None:  # a message whose parameter names are {fields}
            args = (template.format_map({p: p for p in params}), *args)
        super().__init__(*args)
        self.params = tuple(params)
        self.template = template

    def respelled(self, spell) -> str:
        """The message with each parameter name it mentions as ``spell(name, full)``
        gives it (the CLI: ``--n-fft``, or ``--n-fft N`` where ``full``, in a
        template's list of what to give)."""
        if self.template is not None:
            return self.template.format_map({p: spell(p, True) for p in self.params})
        return respell(str(self), self.params, spell)


class ParameterError(Spec2ImgError, ValueError):
    """A parameter is out of range, inconsistent, or missing."""


class InputError(Spec2ImgError):
    """An input file is missing, unreadable, or holds data we cannot use."""


class MetadataError(InputError):
    """An image's spec2img metadata is absent, malformed, or out of bounds."""


class OutputError(Spec2ImgError):
    """An output cannot be written (missing folder, same path as input, disk full)."""


class JournalError(OutputError):
    """The editor's journal cannot be written: the change it would record is refused."""


class Spec2ImgWarning(UserWarning):
    """Legal but suspicious input; ``params`` as for :class:`Spec2ImgError`."""

    def __init__(self, *args, params: tuple[str, ...] = ()) -> None:
        super().__init__(*args)
        self.params = tuple(params)

    def respelled(self, spell) -> str:
        """As :meth:`Spec2ImgError.respelled`."""
        return respell(str(self), self.params, spell)


def respell(text: str, params, spell) -> str:
    """``text`` with each whole-word name of ``params`` replaced by ``spell(name, False)``."""
    import re

    for name in sorted(set(params), key=len, reverse=True):
        text = re.sub(
            rf"(?<![\w-]){re.escape(name)}(?![\w-])", lambda m, n=name: spell(n, False), text
        )
    return text


def in_file(path, err: Spec2ImgError) -> Spec2ImgError:
    """Return a copy of ``err`` whose message starts with ``path``.

    Used where a pure function raised without knowing which file its data came from.
    """
    msg = str(err)
    prefix = f"{path}: "
    if msg.startswith(prefix):
        return err
    new = type(err)(prefix + msg, params=getattr(err, "params", ()))
    if getattr(err, "template", None) is not None:
        new.template = prefix.replace("{", "{{").replace("}", "}}") + err.template
    new.__cause__ = err.__cause__
    return new


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped (``\\x1b``, ``\\x07``).

    Values read from a file, or a file's own name, must not drive the terminal.
    """
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def one_line(e: BaseException | str) -> str:
    """An error (or a warning's message) as one printable line: whitespace runs become
    one space, control characters are escaped; the type's name if it says nothing."""
    text = " ".join(str(e).split())
    return printable(text or type(e).__name__)
