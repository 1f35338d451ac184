"""The admin page through the real app over ASGI: sign-in, CSRF, every page and form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shopify_sync.entrypoints.web.app import create_app
from shopify_sync.services.setup import WEBHOOK_PATHS
from tests.fakes import FakeClock
from tests.integration.web.conftest import TOKEN, builder, make_settings
from tests.unit.services.shop_fakes import FakeShop

PASSWORD = "correct horse battery"


class Admin:
    """A browser without JavaScript: the test client, our database and a fake Shopify."""

    def __init__(self, client: TestClient, shop: FakeShop) -> None:
        self.client = client
        self.shop = shop

    def sql(self, statement: str, **params: object) -> list[tuple[object, ...]]:
        async def run() -> list[tuple[object, ...]]:
            engine = self.client.app.state.shopify_sync.container.uow.engine  # type: ignore[attr-defined]
            async with engine.begin() as c:
                result = await c.execute(text(statement), params)
                return [tuple(r) for r in result.all()] if result.returns_rows else []

        return self.client.portal.call(run)  # type: ignore[union-attr]

    def csrf(self, path: str = "/admin/products") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text)
        assert found is not None
        return found.group(1)

    def sign_in(self, password: str = PASSWORD) -> object:
        token = self.csrf("/admin/login")
        return self.client.post(
            "/admin/login", data={"csrf": token, "password": password, "tz": "Europe/Paris"}
        )

    def post(self, path: str, **data: object) -> object:
        return self.client.post(path, data={"csrf": self.csrf(), **data})

    def add(
        self, pid: str, *, sku: str, b2c: int, variant: int | None = None,
        item: int | None = None, enabled: bool = True, base: int | None = None,
    ) -> None:  # fmt: skip
        self.sql(
            "INSERT INTO product_inventory (product_id, sku, title, b2b_stock, b2c_stock,"
            " shopify_variant_id, shopify_inventory_item_id, sync_enabled, shopify_base,"
            " allocation_policy, pool_base) VALUES (:p, :s, :t, 100, :b2c, :v, :i, :e, :b,"
            " :policy, :b)",
            p=pid, s=sku, t=f"Title {sku}", b2c=b2c, v=None if variant is None else str(variant),
            i=item, e=enabled, b=base, policy=None if base is None else "split",
        )  # fmt: skip


@pytest.fixture(name="admin")
def _admin(tmp_path: Path) -> Iterator[Admin]:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'admin.db'}", ADMIN_PASSWORD=PASSWORD
    )
    clock = FakeClock()
    shop = FakeShop(clock)
    with TestClient(create_app(settings, builder=builder(shop, clock), run_worker=False)) as client:
        yield Admin(client, shop)


def test_pages_need_a_signed_in_operator(admin: Admin) -> None:
    """A signed-out visitor is sent to the sign-in page, which remembers where they went."""
    response = admin.client.get("/admin/products?filter=errors", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/products%3Ffilter%3Derrors"


def test_sign_in_with_the_password_or_the_api_token(admin: Admin) -> None:
    """The admin password and the API token sign in (to the dashboard); anything else is
    refused."""
    wrong = admin.sign_in("nope")
    right = admin.sign_in(TOKEN)

    assert (wrong.status_code, "Wrong password." in wrong.text) == (401, True)  # type: ignore[attr-defined]
    assert (right.status_code, "<h1>Dashboard</h1>" in right.text) == (200, True)  # type: ignore[attr-defined]


def test_a_form_without_its_token_is_refused(admin: Admin) -> None:
    """A POST without the session's CSRF token changes nothing and answers 403."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5)

    forged = admin.client.post("/admin/products/p1/allocate", data={"b2c": "1", "csrf": "x"})
    login = TestClient(admin.client.app).post("/admin/login", data={"password": PASSWORD})

    assert (forged.status_code, "Form refused" in forged.text, login.status_code) == (
        403, True, 403,
    )  # fmt: skip
    assert admin.sql("SELECT b2c_stock FROM product_inventory") == [(5,)]


def test_products_page_filters_counts_and_times_in_the_operator_zone(admin: Admin) -> None:
    """The products page lists, counts and filters; times show in the operator's zone."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=1234, variant=1, item=11, base=1234)
    admin.add("p2", sku="B-2", b2c=3, enabled=False)
    admin.sql("UPDATE product_inventory SET last_synced_at = '2026-05-01 10:00:00'")

    everything = admin.client.get("/admin/products").text
    unlinked = admin.client.get("/admin/products?filter=unlinked").text
    searched = admin.client.get("/admin/products?q=b-2").text
    admin.post("/admin/zone", tz="Asia/Tokyo", next="/admin/products")
    tokyo = admin.client.get("/admin/products").text

    assert '<td class="num">1,234</td>' in everything and "2026-05-01 12:00:00 CEST" in everything
    assert ("p2" in unlinked, "p1</a>" in unlinked, "p1</a>" in searched) == (True, False, False)
    assert "2026-05-01 19:00:00 JST" in tokyo


def test_link_by_searching_shopify_then_allocate_enable_and_sync(admin: Admin) -> None:
    """Search Shopify by SKU, link, set the allocation, enable and sync now: Shopify follows."""
    admin.sign_in()
    variant = admin.shop.add_variant("MUG-1", 2, title="Blue mug")
    admin.add("p1", sku="MUG-1", b2c=5, enabled=False)

    found = admin.client.get("/admin/products/p1?variant_q=MUG-1").text
    linked = admin.post("/admin/products/p1/link", variant_id=variant.id)
    allocated = admin.post("/admin/products/p1/allocate", b2c="8", b2b="90")
    moved = admin.post("/admin/products/p1/allocate", move="3", to="b2b")
    enabled = admin.post("/admin/products/p1/enable")
    synced = admin.post("/admin/products/p1/sync")
    refused = admin.post("/admin/products/p1/allocate", move="999", to="b2c")

    assert "Blue mug" in found and f'value="{variant.id}"' in found
    assert "Linked to Blue mug (SKU MUG-1)." in linked.text  # type: ignore[attr-defined]
    assert "Allocation saved: B2B 90, B2C 8." in allocated.text  # type: ignore[attr-defined]
    assert "B2B 93, B2C 5" in moved.text and "Sync enabled." in enabled.text  # type: ignore[attr-defined]
    assert "Synced: pushed; ours 5, Shopify 5." in synced.text  # type: ignore[attr-defined]
    assert "b2b holds only 93" in refused.text  # type: ignore[attr-defined]
    assert admin.shop.available(variant.inventory_item_id) == 5
    assert ("admin", "admin page") in admin.sql(
        "SELECT source, reference FROM inventory_sync_log WHERE field = 'b2c_stock'"
    )


def test_unlink_disable_and_errors_with_retry(admin: Admin) -> None:
    """Unlinking and disabling work from the page; errors list failures and retry them."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5, variant=1, item=404, base=5)
    admin.add("p2", sku="B-2", b2c=5, variant=2, item=405, base=5)
    admin.post("/admin/products/p1/sync")

    errors = admin.client.get("/admin/errors").text
    retried = admin.post("/admin/errors/retry-parked")
    one = admin.post("/admin/products/p1/retry")
    unlinked = admin.post("/admin/products/p2/unlink")
    disabled = admin.post("/admin/products/p2/disable")
    bad = admin.post("/admin/products/p2/allocate", b2c="lots")

    assert "Shopify has no inventory item 404" in errors and "parked" in errors
    assert "Retrying 1 parked product(s)." in retried.text  # type: ignore[attr-defined]
    assert "Failures forgotten" in one.text and "Unlinked." in unlinked.text  # type: ignore[attr-defined]
    assert "Sync disabled." in disabled.text  # type: ignore[attr-defined]
    assert "b2c: &#39;lots&#39; is not a whole number" in bad.text  # type: ignore[attr-defined]


def test_reconcile_preview_then_apply(admin: Admin) -> None:
    """The preview lists what would change and writes nothing; apply reconciles."""
    admin.sign_in()
    variant = admin.shop.add_variant("C-1", 7)
    admin.add("p1", sku="C-1", b2c=10, variant=variant.id, item=variant.inventory_item_id,
              base=10)  # fmt: skip

    preview = admin.client.get("/admin/reconcile?preview=1").text
    applied = admin.post("/admin/reconcile")

    assert '<td class="num">7</td>' in preview and "1 product(s) would change" in preview
    assert "Reconciled: 1 checked, 1 changed, 0 failed" in applied.text  # type: ignore[attr-defined]
    assert admin.sql("SELECT b2c_stock FROM product_inventory") == [(7,)]


def test_log_export_and_sign_out(admin: Admin) -> None:
    """The log pages back, the CSV export downloads, /admin is the dashboard, signing out
    ends the session."""
    admin.sign_in()
    for n in range(3):
        admin.add(f"p{n}", sku=f"S-{n}", b2c=n + 1)

    log = admin.client.get("/admin/log?product=p2").text
    csv = admin.client.get("/admin/products.csv")
    home = admin.client.get("/admin", follow_redirects=False)
    admin.post("/admin/logout")
    after = admin.client.get("/admin/products", follow_redirects=False)

    assert "Audit log of p2" in log and "db:direct" in log
    assert csv.text.splitlines()[:2] == [
        "product_id,sku,b2b_stock,b2c_stock,variant,sync_enabled,allocation_policy,"
        "allocation_buffer,allocation_cap,explanation",
        'p0,S-0,100,1,,true,split,0,none,"Shopify shows 1: pool 1 (b2c_stock, split)"',
    ]
    assert (home.status_code, after.status_code) == (200, 303) and "Dashboard" in home.text


def test_webhook_register_points_at_the_app_routes(admin: Admin) -> None:
    """The paths `webhooks register` subscribes are the app's webhook routes."""
    routes = {getattr(route, "path", "") for route in admin.client.app.routes}  # type: ignore[attr-defined]

    assert set(WEBHOOK_PATHS.values()) <= routes
