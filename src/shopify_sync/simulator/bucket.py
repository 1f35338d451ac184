"""Leaky buckets: GraphQL cost points and REST request counts, refilled by the injected clock."""

from __future__ import annotations

from shopify_sync.simulator.clock import Clock


class LeakyBucket:
    """A bucket of `capacity` points that refills at `rate` points per second."""

    def __init__(self, capacity: float, rate: float, clock: Clock) -> None:
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._available = capacity
        self._stamp = clock.monotonic()

    def available(self) -> float:
        """Points available now."""
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._stamp)
        self._available = min(self.capacity, self._available + elapsed * self.rate)
        self._stamp = now
        return self._available

    def try_take(self, points: float) -> bool:
        """Take `points` if they are all there; return whether they were taken."""
        if self.available() < points:
            return False
        self._available -= points
        return True

    def refund(self, points: float) -> None:
        """Give back points taken for work that cost less than requested."""
        self._available = min(self.capacity, self.available() + points)

    def set_available(self, points: float) -> None:
        """Force the level (control API: drain or fill the bucket)."""
        self.available()
        self._available = max(0.0, min(self.capacity, points))

    def seconds_until(self, points: float) -> float:
        """How long until `points` are available."""
        missing = points - self.available()
        return max(0.0, missing / self.rate)
