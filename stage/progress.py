"""Progress of long loops (examples, benchmarks): a `tqdm` bar on a terminal, plain lines elsewhere.

`tqdm` is an optional extra (`pip install 'stage[progress]'`). With it and a terminal, `progress`
draws tqdm's bar; without it, or when the output is a file or a pipe (CI logs, `| tee`), it prints
a plain line now and then -- about ten per loop, plus the last -- which logs read well and which
never fill a log with carriage returns. `STAGE_PROGRESS=bar|plain|off` overrides the choice.

Examples
--------
>>> from stage.progress import progress
>>> bar = progress(range(3), desc="epochs", mode="plain")
>>> for epoch in bar:
...     bar.set(loss=1.0 / (epoch + 1))          # doctest: +ELLIPSIS
epochs 1/3 (33%) ...  loss 1
epochs 2/3 (66%) ...  loss 0.5
epochs 3/3 (100%) ...  loss 0.3333
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterable, Iterator, Optional, TextIO

__all__ = ["progress", "Progress"]

MODES = ("bar", "plain", "off")


def _choose(mode: Optional[str], file: TextIO) -> str:
    mode = mode or os.environ.get("STAGE_PROGRESS", "").strip().lower() or None
    if mode is not None:
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES} (STAGE_PROGRESS), got {mode!r}")
        if mode != "bar":
            return mode
    try:
        import tqdm  # noqa: F401  (only whether it is installed)
    except ImportError:
        return "plain"
    if mode == "bar":
        return "bar"
    isatty = getattr(file, "isatty", None)
    return "bar" if isatty is not None and isatty() else "plain"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"
    return str(v)


class Progress:
    """An iterable over `iterable` that shows progress; made by `progress`, whose parameters
    (`total`, `desc`, `every`, `file`, and the chosen `mode`) it takes.

    Attributes
    ----------
    mode : str
        "bar" (tqdm), "plain" (lines) or "off".
    n : int
        Items done so far.
    """

    def __init__(self, iterable: Iterable, total: Optional[int], desc: str, every: Optional[int],
                 file: TextIO, mode: str):
        self.iterable, self.desc, self.file, self.mode = iterable, desc, file, mode
        if total is None:
            try:
                total = len(iterable)               # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.every = every or (max(1, total // 10) if total else 1)
        self.n = 0
        self.metrics: dict = {}
        self._t0 = time.perf_counter()
        self._bar = None
        if mode == "bar":
            import tqdm
            self._bar = tqdm.tqdm(total=total, desc=desc or None, file=file, dynamic_ncols=True)

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.n += 1
                if self._bar is not None:
                    self._bar.update(1)
                elif self.mode == "plain" and (self.n % self.every == 0 or self.n == self.total):
                    self._line()
        finally:
            self.close()

    def set(self, **metrics: Any) -> None:
        """Show these values (e.g. ``loss=0.41, acc=0.97``) next to the progress from now on."""
        self.metrics.update(metrics)
        if self._bar is not None:
            self._bar.set_postfix({k: _fmt(v) for k, v in self.metrics.items()}, refresh=False)

    def write(self, text: str) -> None:
        """Print a line of text without breaking the bar (plain mode: just print it)."""
        if self._bar is not None:
            self._bar.write(text, file=self.file)
        elif self.mode != "off":
            print(text, file=self.file, flush=True)

    def close(self) -> None:
        """Finish the bar (called when the loop ends)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _line(self) -> None:
        dt = time.perf_counter() - self._t0
        where = f"{self.n}/{self.total} ({100 * self.n // self.total}%)" if self.total else \
            f"{self.n}"
        eta = f", ETA {dt / self.n * (self.total - self.n):.1f}s" \
            if self.total and self.n < self.total else ""
        shown = "  ".join(f"{k} {_fmt(v)}" for k, v in self.metrics.items())
        print(f"{self.desc + ' ' if self.desc else ''}{where} {dt:.1f}s{eta}"
              f"{'  ' + shown if shown else ''}", file=self.file, flush=True)


def progress(iterable: Iterable, total: Optional[int] = None, desc: str = "",
             every: Optional[int] = None, file: Optional[TextIO] = None,
             mode: Optional[str] = None, enabled: bool = True) -> Progress:
    """Iterate over `iterable`, showing progress: a tqdm bar on a terminal, plain lines elsewhere.

    Parameters
    ----------
    iterable : iterable
        What the loop runs over (e.g. ``range(epochs)``).
    total : int, optional
        The number of items (default: ``len(iterable)`` when it has one).
    desc : str, default ""
        A label shown before the progress.
    every : int, optional
        Plain mode: print a line every `every` items (default: about ten lines per loop; the last
        item always prints).
    file : file-like, optional
        Where to write (default: standard error for the bar, standard output for plain lines).
    mode : {"bar", "plain", "off"}, optional
        Force a mode; default ``$STAGE_PROGRESS``, else "bar" when tqdm is installed and `file` is
        a terminal, else "plain".
    enabled : bool, default True
        False is mode "off" (a quiet loop, e.g. ``enabled=verbose``).

    Returns
    -------
    Progress
        Iterate over it; ``.set(loss=...)`` shows values next to the progress, ``.write(text)``
        prints a line without breaking the bar.

    Raises
    ------
    ValueError
        An unknown mode.
    """
    chosen = "off" if not enabled else _choose(mode, file if file is not None else sys.stderr)
    out = file if file is not None else (sys.stderr if chosen == "bar" else sys.stdout)
    return Progress(iterable, total, desc, every, out, chosen)
