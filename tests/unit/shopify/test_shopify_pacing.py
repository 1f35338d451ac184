"""The cost bucket estimate, backoff and Retry-After parsing."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from shopify_sync.adapters.shopify.envelope import Cost, ThrottleStatus
from shopify_sync.adapters.shopify.pacing import (
    DEFAULT_RETRY_AFTER_S,
    MIN_THROTTLE_WAIT_S,
    Backoff,
    CostLimiter,
    retry_after_s,
)
from tests.unit.shopify.shopify_fakes import FakeClock


def report(
    available: float, *, maximum: float = 2000, rate: float = 100, requested: float = 10
) -> Cost:
    """A cost report as Shopify sends it."""
    return Cost(
        requested_query_cost=requested,
        throttle_status=ThrottleStatus(
            maximum_available=maximum, currently_available=available, restore_rate=rate
        ),
    )


def test_nothing_waits_before_the_first_report(clock: FakeClock) -> None:
    """Without a report the limiter has no estimate and lets calls through."""
    limiter = CostLimiter(clock)

    assert limiter.estimate() is None
    assert limiter.reserve(1000) == 0.0


def test_the_estimate_refills_at_the_restore_rate_up_to_the_maximum(clock: FakeClock) -> None:
    """The bucket grows by restore rate per second since the report, capped at its size."""
    limiter = CostLimiter(clock)
    limiter.observe(report(1500))
    clock.current += timedelta(seconds=3)
    three_seconds_later = limiter.estimate()
    clock.current += timedelta(seconds=60)

    assert three_seconds_later == 1800
    assert limiter.estimate() == 2000


def test_concurrent_reservations_queue_behind_each_other(clock: FakeClock) -> None:
    """Reserved points are booked at once, so the second caller waits for both costs."""
    limiter = CostLimiter(clock)
    limiter.observe(report(500))

    first = limiter.reserve(400)
    second = limiter.reserve(400)

    assert (first, second) == (0.0, 3.0)


def test_a_cost_above_the_bucket_waits_only_for_a_full_bucket(clock: FakeClock) -> None:
    """A cost larger than the bucket is capped at its size (Shopify refuses it anyway)."""
    limiter = CostLimiter(clock)
    limiter.observe(report(0, maximum=1000, rate=50))

    assert limiter.reserve(5000) == 20.0


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (report(666, requested=752), 0.86),
        (report(800, requested=752), MIN_THROTTLE_WAIT_S),
        (Cost(), DEFAULT_RETRY_AFTER_S),
        (report(0, rate=0), DEFAULT_RETRY_AFTER_S),
        (None, DEFAULT_RETRY_AFTER_S),
    ],
)
def test_throttled_wait(clock: FakeClock, cost: Cost | None, expected: float) -> None:
    """The wait after THROTTLED is the missing points over the restore rate, with floors."""
    assert CostLimiter(clock).throttled_wait(cost) == pytest.approx(expected)


def test_backoff_doubles_within_jitter_and_is_capped() -> None:
    """Retry n waits between half and all of base * 2^n, never above the cap."""
    backoff = Backoff(random.Random(1), base_s=1.0, cap_s=8.0)

    delays = [backoff.delay(n) for n in range(6)]

    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2", 2.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        (None, DEFAULT_RETRY_AFTER_S),
        ("", DEFAULT_RETRY_AFTER_S),
        ("soon", DEFAULT_RETRY_AFTER_S),
        ("Fri, 01 May 2026 10:00:30 GMT", 30.0),
        ("Fri, 01 May 2026 09:00:00 GMT", 0.0),
    ],
)
def test_retry_after_parsing(clock: FakeClock, header: str | None, expected: float) -> None:
    """Retry-After is read as seconds or as an HTTP date; unreadable values use the default."""
    assert retry_after_s(header, clock.now()) == expected
