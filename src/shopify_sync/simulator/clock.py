"""Injectable time: a monotonic clock for buckets and retry schedules, a wall clock for timestamps.

Tests pass a `ManualClock` and call `advance()` instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds (for durations) and wall-clock epoch seconds (for timestamps)."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class SystemClock:
    """The real clocks plus an offset that `advance` moves forward (demos, control API)."""

    def __init__(self) -> None:
        self._offset_s = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return time.monotonic() + self._offset_s

    def time(self) -> float:
        return time.time() + self._offset_s

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset_s += seconds


class ManualClock:
    """A clock that stands still until `advance` is called; safe to advance from another thread."""

    def __init__(self, start_epoch_s: float = 1_777_644_000.0) -> None:
        # Default start: 2026-05-01T14:00:00Z.
        self._epoch_s = start_epoch_s
        self._monotonic_s = 1000.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self._monotonic_s

    def time(self) -> float:
        return self._epoch_s

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._monotonic_s += seconds
            self._epoch_s += seconds
