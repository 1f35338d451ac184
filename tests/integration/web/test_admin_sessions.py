"""Admin sign-in and sessions: failed sign-ins are throttled per address with a growing
delay and a cap across addresses (logged, counted in /metrics); signing out ends the
session on the server; an idle session expires; several processes share all of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.services.access import GLOBAL_CAP, delay_after
from tests.fakes import FakeClock
from tests.integration.web.conftest import TOKEN, builder, make_settings
from tests.integration.web.test_admin_page import PASSWORD, Admin
from tests.unit.services.shop_fakes import FakeShop

IDLE_S = 600


@pytest.fixture(name="two")
def _two(tmp_path: Path) -> Iterator[tuple[Admin, Admin, FakeClock]]:
    """Two `serve` processes on one database, sharing a clock."""
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'admin.db'}", ADMIN_PASSWORD=PASSWORD,
        ADMIN_SESSION_IDLE_SECONDS=str(IDLE_S),
    )  # fmt: skip
    clock = FakeClock()
    shop = FakeShop(clock)
    first = create_app(settings, builder=builder(shop, clock), run_worker=False)
    second = create_app(settings, builder=builder(shop, clock), run_worker=False)
    with TestClient(first) as a, TestClient(second) as b:
        yield Admin(a, shop), Admin(b, shop), clock


def status(admin: Admin, path: str = "/admin/products") -> int:
    """The status of a GET, redirects not followed (303: sent to sign in)."""
    code: int = admin.client.get(path, follow_redirects=False).status_code
    return code


def test_signing_out_ends_the_session_everywhere(two: tuple[Admin, Admin, FakeClock]) -> None:
    """A cookie copied before sign-out no longer works afterwards, on either process."""
    a, b, _ = two
    a.sign_in()
    b.client.cookies = a.client.cookies  # the copy, used by the other process
    before = status(b)

    a.post("/admin/logout")

    assert (before, status(b), status(a)) == (200, 303, 303)


def test_an_idle_session_expires(two: tuple[Admin, Admin, FakeClock]) -> None:
    """A session used within the idle time lives on; one left idle longer ends, and the
    sign-in page says why."""
    a, _, clock = two
    a.sign_in()
    clock.advance(IDLE_S - 1)
    used = status(a)
    clock.advance(IDLE_S + 1)

    expired = status(a)
    page = a.client.get("/admin/products")

    assert (used, expired) == (200, 303)
    assert "Your session has ended" in page.text


def test_signing_in_clears_idle_sessions_away(two: tuple[Admin, Admin, FakeClock]) -> None:
    """A new session removes the rows of sessions idle past the limit, so the table holds
    only live ones."""
    a, b, clock = two
    a.sign_in()
    clock.advance(IDLE_S + 1)

    b.sign_in()

    assert a.sql("SELECT count(*) FROM admin_sessions") == [(1,)]


def test_failed_sign_ins_wait_longer_and_longer(two: tuple[Admin, Admin, FakeClock]) -> None:
    """After three failures an address waits 1 s, then 2 s, ...; while it waits even the
    right password is refused unchecked (429, Retry-After), on every process; once the
    wait is over the right password signs in and clears the count."""
    a, b, clock = two
    wrong = [a.sign_in("nope").status_code for _ in range(3)]  # type: ignore[attr-defined]

    with capture_logs() as logs:
        waiting = b.sign_in()
    clock.advance(1)
    fourth = a.sign_in("nope")
    clock.advance(1)
    still = a.sign_in()
    clock.advance(1)
    right = a.sign_in()

    assert wrong == [401, 401, 401]
    assert (waiting.status_code, waiting.headers["retry-after"]) == (429, "1")  # type: ignore[attr-defined]
    assert "Too many failed sign-ins" in waiting.text  # type: ignore[attr-defined]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "admin sign-in throttled: refused unchecked"
    ]
    assert (fourth.status_code, still.status_code) == (401, 429)  # type: ignore[attr-defined]
    assert (right.status_code, "<h1>" in right.text) == (200, True)  # type: ignore[attr-defined]
    assert a.sql("SELECT count(*) FROM sign_in_failures") == [(0,)]


def test_a_cap_across_addresses_makes_everybody_wait(two: tuple[Admin, Admin, FakeClock]) -> None:
    """Beyond the cap of failures from all addresses together, a sign-in from an address
    that never failed waits too; it is counted in /metrics as throttled."""
    a, _, clock = two
    for n in range(GLOBAL_CAP):
        a.sql(
            "INSERT INTO sign_in_failures (client, failures, last_failed_at) VALUES (:c, 1, :t)",
            c=f"10.0.{n // 250}.{n % 250}", t=clock.now(),
        )  # fmt: skip

    refused = a.sign_in()
    metrics = a.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text

    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert 'shopify_sync_admin_sign_ins_total{outcome="throttled"} 1.0' in metrics


def test_the_delay_grows_and_is_capped() -> None:
    """Three failures are free; each next one doubles the wait, up to 15 minutes."""
    waits = [delay_after(n).total_seconds() for n in (1, 2, 3, 4, 5, 6, 30)]

    assert waits == [0, 0, 1, 2, 4, 8, timedelta(minutes=15).total_seconds()]
