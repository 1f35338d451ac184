"""The fuzzers' shared settings: one seed per run, printed, and the run's length.

Under ``CI=true`` the seed is fixed (0), so a red CI run fails the same way on a laptop.
Run by hand, each run draws a new seed; pytest's header prints it (``fuzz seed: N``) and
``FUZZ_SEED=N`` replays that run. ``FUZZ_LONG=1`` multiplies every fuzzer's examples by
``FUZZ_LONG_FACTOR`` (minutes instead of seconds).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, seed, settings

FUZZ_LONG_FACTOR = 25


def _seed() -> int:
    given = os.environ.get("FUZZ_SEED", "").strip()
    if given:
        return int(given)
    if os.environ.get("CI", "").lower() == "true":
        return 0
    return random.SystemRandom().randrange(2**32)


FUZZ_SEED = _seed()
LONG = os.environ.get("FUZZ_LONG", "").strip() not in ("", "0", "false")


_Test = TypeVar("_Test", bound=Callable[..., Any])


def fuzzed(examples: int) -> Callable[[_Test], _Test]:
    """Hypothesis settings for a fuzzer: ``examples`` per run (times the factor when long),
    the run's seed, no example database (the seed alone replays a run), no deadline."""
    count = examples * FUZZ_LONG_FACTOR if LONG else examples
    chosen = settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )

    def decorate(test: _Test) -> _Test:
        return seed(FUZZ_SEED)(chosen(test))

    return decorate
