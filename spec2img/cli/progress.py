"""A small progress bar on stderr, drawn only on a terminal."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Callable ``progress(done, total)`` that draws a one-line bar.

    Parameters
    ----------
    label : str
        Text before the bar.
    enabled : bool or None
        ``None``: draw only when the stream is a terminal (so pipes and CI stay quiet).
    stream : file-like
        Defaults to ``sys.stderr``.
    min_interval : float
        Seconds between redraws.
    unit : str or None
        Name of what is counted (``"files"``): the bar then shows the rate too.
    """

    def __init__(self, label: str, *, enabled: bool | None = None, stream=None,
                 min_interval: float = 0.1, unit: str | None = None) -> None:  # fmt: skip
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.label = label
        self.min_interval = min_interval
        self.unit = unit
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval:
            return
        self._last = now
        frac = done / total if total else 1.0
        width = 30
        fill = int(round(frac * width))
        elapsed = now - self.start
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        rate = f" {done / elapsed:.2f} {self.unit}/s" if self.unit and elapsed > 0 else ""
        self.stream.write(
            f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {done}/{total}"
            f"{rate} {elapsed:5.1f}s ETA {eta:4.0f}s"
        )
        self.stream.flush()
        self._drawn = True

    def write(self, text: str) -> None:
        """Print a line of text above the bar (clearing the bar's line first)."""
        if self._drawn:
            self.stream.write("\r\033[K")
            self._drawn = False
            self._last = 0.0  # redraw at the next update
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the line, if anything was drawn."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
