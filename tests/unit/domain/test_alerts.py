"""The alert conditions and their state machine: one message when a condition starts, one
when it clears, none while it holds, nothing while its facts are unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shopify_sync.domain.alerts import (
    Facts,
    Thresholds,
    Transition,
    channel_transitions,
    conditions,
    transitions,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LIMITS = Thresholds(
    parked_products=2,
    error_age=timedelta(minutes=30),
    reconcile_missed_intervals=3,
    drift_products=10,
    outage_pause=timedelta(minutes=10),
)


def facts(**changes: object) -> Facts:
    """All well, known, unless changed."""
    values: dict[str, object] = {
        "now": NOW, "parked": 0, "oldest_error_since": None, "errors_known": True,
        "last_reconcile_ok_at": NOW - timedelta(minutes=5), "watching_since": NOW,
        "reconcile_interval": timedelta(minutes=5), "last_reconcile_drift": 0,
        "subscriptions_missing": (), "credentials_refused": None, "credentials_known": True,
        "outage_since": None,
    }  # fmt: skip
    values.update(changes)
    return Facts(**values)  # type: ignore[arg-type]


def on(found: dict[str, str | None]) -> set[str]:
    return {condition for condition, message in found.items() if message is not None}


def test_all_well_is_every_condition_off() -> None:
    """With nothing wrong every condition is known and off."""
    found = conditions(facts(), LIMITS)

    assert len(found) == 7 and on(found) == set()


def test_each_condition_starts_past_its_threshold() -> None:
    """Each condition turns on just past its threshold and stays off at it."""
    at = {
        "products_parked": facts(parked=1),
        "errors_old": facts(oldest_error_since=NOW - timedelta(minutes=30)),
        "reconcile_missing": facts(last_reconcile_ok_at=NOW - timedelta(minutes=15)),
        "drift_high": facts(last_reconcile_drift=10),
        "outage_pause_long": facts(outage_since=NOW - timedelta(minutes=10)),
    }
    past = {
        "products_parked": facts(parked=2),
        "errors_old": facts(oldest_error_since=NOW - timedelta(minutes=31)),
        "reconcile_missing": facts(last_reconcile_ok_at=NOW - timedelta(minutes=16)),
        "drift_high": facts(last_reconcile_drift=11),
        "outage_pause_long": facts(outage_since=NOW - timedelta(minutes=11)),
        "webhook_subscription_missing": facts(subscriptions_missing=("orders/create",)),
        "shopify_credentials_refused": facts(credentials_refused="HTTP 401"),
    }

    assert {name: on(conditions(f, LIMITS)) for name, f in at.items()} == {
        name: set() for name in at
    }
    assert {name: on(conditions(f, LIMITS)) for name, f in past.items()} == {
        name: {name} for name in past
    }


def test_without_any_reconcile_the_watch_start_counts() -> None:
    """Before any successful reconcile, the time since the process began watching counts."""
    found = conditions(
        facts(last_reconcile_ok_at=None, watching_since=NOW - timedelta(minutes=16)), LIMITS
    )

    assert on(found) == {"reconcile_missing"}


def test_unknown_facts_leave_their_conditions_out() -> None:
    """A database or Shopify that could not be asked decides nothing about its conditions."""
    found = conditions(
        facts(parked=None, errors_known=False, last_reconcile_drift=None,
              subscriptions_missing=None, credentials_known=False),
        LIMITS,
    )  # fmt: skip

    assert set(found) == {"outage_pause_long"}


def test_a_condition_is_notified_when_it_starts_and_when_it_clears_only() -> None:
    """Start: one 'started'; while it holds: nothing; once off: one 'cleared' with the
    message it started with."""
    starting = transitions({}, {"products_parked": "3 parked"})
    holding = transitions({"products_parked": "3 parked"}, {"products_parked": "4 parked"})
    clearing = transitions({"products_parked": "3 parked"}, {"products_parked": None})
    quiet = transitions({}, {"products_parked": None})

    assert starting == [Transition("products_parked", "started", "3 parked")]
    assert (holding, quiet) == ([], [])
    assert clearing == [Transition("products_parked", "cleared", "3 parked")]


def test_an_unknown_condition_neither_starts_nor_clears() -> None:
    """A condition notified as on but unknown this time stays on, without a message."""
    found = transitions({"drift_high": "20 differ"}, {"products_parked": None})

    assert found == []


def test_each_channel_is_sent_what_it_was_not_told_yet() -> None:
    """A channel told of the start gets nothing more while it holds; one that was not told
    gets the start; once off, only a channel told of the start gets the clearing."""
    told = {"mail": {"products_parked": "3 parked"}}
    on = {"products_parked": "4 parked"}
    off: dict[str, str | None] = {"products_parked": None}

    retry = channel_transitions(told, ("webhook", "mail"), on)
    clearing = channel_transitions(told, ("webhook", "mail"), off)

    assert retry == [("webhook", Transition("products_parked", "started", "4 parked"))]
    assert clearing == [("mail", Transition("products_parked", "cleared", "3 parked"))]
