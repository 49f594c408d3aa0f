"""Progress reporting: a single updating status line on a terminal, plain periodic log lines
otherwise (CI, multirun jobs, files)."""

from __future__ import annotations

import sys
from typing import TextIO


def format_eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def status_line(epoch: int, epochs: int, fraction: float, loss: float, lr: float, speed: float, eta: float) -> str:
    return (
        f"epoch {epoch}/{epochs} {100 * fraction:5.1f}%  loss {loss:.4f}  lr {lr:.5f}  "
        f"{speed:,.0f} words/s  ETA {format_eta(eta)}"
    )


class Progress:
    """``update(...)`` renders one status; on a TTY it redraws one line, else it prints a line."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None, label: str = ""):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._open = False
        #: put before every line (the job of a sweep: parallel jobs interleave their lines)
        self.label = f"[{label}] " if label else ""

    def message(self, text: str) -> None:
        self._print(text, self.stream)

    def _print(self, text: str, stream: TextIO) -> None:
        self._end_line()
        if self.label:
            text = "\n".join(self.label + line for line in text.splitlines())
        print(text, file=stream, flush=True)

    def result(self, text: str) -> None:
        """A result (scores, the run's id and links) on standard output, so ``| tee`` and
        ``| grep`` get it; progress and diagnostics stay on the progress stream (stderr)."""
        self._print(text, sys.stdout)

    def update(self, epoch: int, epochs: int, fraction: float, loss: float, lr: float, speed: float, eta: float):
        width = 24
        filled = int(round(width * min(max(fraction, 0.0), 1.0)))
        status = status_line(epoch, epochs, fraction, loss, lr, speed, eta)
        if self.tty:
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label}  [{bar}] {status}\x1b[K")
            self.stream.flush()
            self._open = True
        else:
            print(f"{self.label}  {status}", file=self.stream, flush=True)

    def _end_line(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def close(self) -> None:
        self._end_line()


class SilentProgress(Progress):
    def __init__(self):
        super().__init__(stream=sys.stderr, tty=False)

    def message(self, text: str) -> None:
        pass

    def result(self, text: str) -> None:
        pass

    def update(self, *args, **kwargs) -> None:
        pass


class ListProgress(Progress):
    """Collects messages and status lines (tests)."""

    def __init__(self):
        super().__init__(stream=sys.stderr, tty=False)
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        self.lines.append(text)

    def result(self, text: str) -> None:
        self.lines.append(text)

    def update(self, epoch, epochs, fraction, loss, lr, speed, eta) -> None:
        self.lines.append(status_line(epoch, epochs, fraction, loss, lr, speed, eta))
