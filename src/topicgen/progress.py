"""Progress of the experiment runs: a live status line on a terminal, plain log lines in CI.

The estimate of the time left comes from what each experiment cost the last time it ran
(recorded in the cache index); experiments never run before do not count towards it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TextIO

log = logging.getLogger("topicgen.build")


class Progress:
    """Call `started(name, expected_s)` and `finished(name, line)`; use as a context manager."""

    def __init__(self, total: int, jobs: int, stream: TextIO | None = None):
        self.total = total
        self.jobs = max(1, jobs)
        self.done = 0
        self.began = time.monotonic()
        self.running: dict[str, tuple[float, float | None]] = {}  # name -> (start, expected s)
        self.pending_cost = 0.0
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() and log.isEnabledFor(logging.INFO)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> Progress:
        if self.live:
            self._ticker.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join()
        with self._lock:
            self._clear()

    def expect(self, seconds: float | None) -> None:
        """Count one not-yet-started run of `seconds` (None: unknown) towards the estimate."""
        self.pending_cost += seconds or 0.0

    def started(self, name: str, expected_s: float | None) -> None:
        with self._lock:
            self.running[name] = (time.monotonic(), expected_s)
            self.pending_cost -= expected_s or 0.0

    def finished(self, name: str, message: str) -> None:
        """Log `message` (one line about `name`) without tearing the live status line."""
        with self._lock:
            self.running.pop(name, None)
            self.done += 1
            self._clear()
            log.info("  [%d/%d] %s", self.done, self.total, message)
            self._draw()

    def status(self) -> str:
        now = time.monotonic()
        names = ", ".join(self.running) or "starting"
        text = f"  running {self.done + 1}/{self.total}: {names} · {now - self.began:.0f} s"
        left = self.pending_cost + sum(max((expected or 0.0) - (now - start), 0.0)
                                       for start, expected in self.running.values())
        if left > 0:
            text += f" · about {left / min(self.jobs, max(self.total - self.done, 1)):.0f} s left"
        return text

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                self._draw()

    def _draw(self) -> None:
        if self.live and self.running:
            self.stream.write("\r\033[K" + self.status()[: 200])
            self.stream.flush()

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()
