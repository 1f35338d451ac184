"""The admin page for an operator's first hour (issue 12): the last reconcile agrees with
/health, errors are retried in bulk, and one page shows one time zone."""

from __future__ import annotations

from tests.integration.web.test_admin_page import PASSWORD, Admin, _admin  # noqa: F401

__all__ = ["PASSWORD"]


def test_reconcile_page_and_health_agree_on_the_last_reconcile(admin: Admin) -> None:
    """A scheduled reconcile newer than one started by hand is the last one on both."""
    admin.sign_in()
    admin.sql(
        "INSERT INTO sync_runs (kind, started_at, finished_at, checked, changed, failed)"
        " VALUES ('reconcile:api', '2026-05-01 08:00:00', '2026-05-01 08:00:01', 11, 1, 0),"
        " ('reconcile', '2026-05-01 09:00:00', '2026-05-01 09:00:02', 77, 7, 0)"
    )

    page = admin.client.get("/admin/reconcile").text
    health = admin.client.get("/health").json()

    assert "77 checked, 7 changed, 0 failed" in page and "scheduled" in page
    assert "11 checked" not in page
    assert health["last_reconcile"]["checked"] == 77
