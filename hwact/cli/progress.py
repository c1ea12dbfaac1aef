"""The one progress display of the command line: on a terminal only, flushed, nothing on a pipe."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Show what a long command is doing, and for how long, on one line of stderr.

    A context manager; inside it, call the object (or :meth:`step`) with the current step,
    which is what library functions take as their ``progress`` callback. The line appears
    only when ``stream`` is a terminal (never in pipes, files or CI logs; ``HWACT_NO_PROGRESS``
    turns it off), only once the command has run :attr:`AFTER` seconds, is rewritten twice a
    second and erased at the end, so nothing of it is left in the output.

    Parameters
    ----------
    label
        What the command does, e.g. ``"planning tanh s4.12 -> s1.15"``.
    stream
        Where to draw (default ``sys.stderr``).
    """

    #: Seconds before anything is shown: short commands stay silent.
    AFTER = 2.0

    def __init__(self, label: str, stream: TextIO | None = None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.shown = bool(getattr(self.stream, "isatty", lambda: False)()) and not os.environ.get("HWACT_NO_PROGRESS")
        self._step = ""
        self._done: threading.Event | None = None
        self._lock = threading.Lock()
        self._drawn = False

    def step(self, text: str) -> None:
        """Name the current step (shown after the label)."""
        self._step = text

    __call__ = step

    def echo(self, text: str, stream: TextIO | None = None) -> None:
        """Print a line of output (default stdout) without mixing it into the progress line."""
        with self._lock:
            self._erase()
            print(text, file=stream if stream is not None else sys.stdout, flush=True)

    def _erase(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        if not self.shown:
            return self
        self._done = threading.Event()
        start = time.monotonic()

        def tick() -> None:
            while not self._done.wait(0.5):
                elapsed = time.monotonic() - start
                if elapsed >= self.AFTER:
                    step = f": {self._step}" if self._step else ""
                    with self._lock:
                        self.stream.write(f"\r\033[K{self.label}{step} ... {elapsed:.0f} s")
                        self.stream.flush()
                        self._drawn = True
            with self._lock:
                self._erase()

        self._thread = threading.Thread(target=tick, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> bool:
        if self._done is not None:
            self._done.set()
            self._thread.join()
        return False
