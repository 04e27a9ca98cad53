"""A terminal progress bar that implements the engine's progress protocol."""

from __future__ import annotations

import sys
import time


class TerminalProgress:
    """Draws ``[#####.....]  42%  message`` on stderr, at most ~10 times a second.

    Also records when each message prefix (a stage, e.g. ``"motion: chunk 3/10"`` -> ``"motion"``)
    was first and last seen, so a command can print stage timings at the end.
    """

    def __init__(self, stream=None, width: int = 30, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._last = 0.0
        self._t0 = time.perf_counter()
        self.stage_times: dict[str, list[float]] = {}

    def report(self, fraction: float, message: str = "") -> None:
        now = time.perf_counter()
        stage = message.split(":", 1)[0].strip() if message else ""
        if stage:
            span = self.stage_times.setdefault(stage, [now - self._t0, now - self._t0])
            span[1] = now - self._t0
        if not self.enabled or (now - self._last < 0.1 and fraction < 1.0):
            return
        self._last = now
        filled = int(round(self.width * fraction))
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {100 * fraction:5.1f}%  {message[:60]:<60}")
        self.stream.flush()

    def cancel_requested(self) -> bool:
        return False

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def timings(self) -> dict[str, float]:
        """Seconds spent in each stage, in order of first appearance."""
        return {k: v[1] - v[0] for k, v in self.stage_times.items()}
