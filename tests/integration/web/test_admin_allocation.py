"""The admin page's allocation policies (issue 16): the product page says why Shopify shows
what it shows and sets the policy, buffer and cap; the products page filters by policy;
the CSV export carries the allocation and its explanation."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import text

from tests.integration.web.test_admin_page import Admin, _admin  # noqa: F401  # the fixture

OWN = "SELECT allocation_policy, allocation_buffer, allocation_cap, b2b_stock, b2c_stock"
OWN += " FROM product_inventory WHERE product_id = :p"


def test_product_page_explains_the_published_quantity(admin: Admin) -> None:
    """Without its own allocation a product shows the settings' and the computation line."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5)

    page = html.unescape(re.sub(r"<[^>]+>", "", admin.client.get("/admin/products/p1").text))

    assert "Shopify shows 5: pool 5 (b2c_stock, split)" in page
    assert "split (the settings')" in page


def test_the_panel_switches_a_product_to_a_shared_pool(admin: Admin) -> None:
    """Policy, buffer and cap from the panel: units move (none lost), the own columns are
    written, and the page says what happened and why Shopify shows what it will."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5)

    saved = admin.post("/admin/products/p1/allocation", policy="shared", buffer="5", cap="50")

    shown = html.unescape(saved.text)  # type: ignore[attr-defined]
    assert admin.sql(OWN, p="p1") == [("shared", 5, 50, 105, 50)]
    assert (
        "Allocation saved: split -> shared, buffer 0 -> 5, cap none -> 50; units moved: "
        "b2b_stock +5, b2c_stock +45. Shopify shows 50: pool 105 (b2b_stock, shared) minus "
        "buffer 5 = 100; cap 50 reached."
    ) in shown
    assert [r[0] for r in admin.sql(
        "SELECT detail FROM inventory_sync_log WHERE field = 'allocation'"
    )] == ["split -> shared, buffer 0 -> 5, cap none -> 50"]  # fmt: skip


def test_no_cap_removes_the_cap_and_blanks_keep_the_rest(admin: Admin) -> None:
    """Ticking "no cap" removes it; a blank buffer keeps the buffer; no policy keeps it."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5)
    admin.post("/admin/products/p1/allocation", policy="split", buffer="2", cap="3")

    admin.post("/admin/products/p1/allocation", buffer="", cap="", no_cap="1")

    assert admin.sql(OWN, p="p1") == [("split", 2, None, 100, 5)]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"policy": "pooled"}, "policy: Input should be 'split' or 'shared'"),
        ({"buffer": "-1"}, "buffer: Input should be greater than or equal to 0"),
        ({"cap": "9" * 25}, "cap: '9999999999999999999999999' is not a whole number"),
        ({"cap": "5", "no_cap": "1"}, "give a cap or tick"),
        ({"no_cap": "maybe"}, "no_cap: 'maybe' is not yes or no"),
    ],
)
def test_bad_allocation_values_show_the_page_with_400(
    admin: Admin, form: dict[str, str], message: str
) -> None:
    """An unknown policy, a negative or huge number, a cap with "no cap": the product's
    page again with what was wrong, 400, nothing changed."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5)

    response = admin.post("/admin/products/p1/allocation", **form)

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in html.unescape(response.text)  # type: ignore[attr-defined]
    assert "<h1>p1" in response.text  # type: ignore[attr-defined]
    assert admin.sql(OWN, p="p1") == [(None, None, None, 100, 5)]


def _in_flight(admin: Admin, pid: str) -> None:
    admin.sql(
        "UPDATE product_inventory SET push_key = 'k', push_quantity = 5, push_expected = 5"
        " WHERE product_id = :p",
        p=pid,
    )


def test_a_write_in_flight_is_waited_for_then_the_change_applies(admin: Admin) -> None:
    """The panel waits for the product's write to be answered, then switches it."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5, variant=1, item=11, base=5)
    _in_flight(admin, "p1")
    engine = admin.client.app.state.shopify_sync.container.uow.engine  # type: ignore[attr-defined]
    clock = admin.client.app.state.shopify_sync.container.clock  # type: ignore[attr-defined]
    waits: list[float] = []

    async def answered(seconds: float) -> None:
        waits.append(seconds)
        async with engine.begin() as c:
            await c.execute(text("UPDATE product_inventory SET push_key = NULL"))

    clock.sleep = answered  # the first wait ends with the write answered

    saved = admin.post("/admin/products/p1/allocation", policy="shared")

    assert "Allocation saved: split -&gt; shared" in saved.text  # type: ignore[attr-defined]
    assert (len(waits), admin.sql(OWN, p="p1")) == (1, [("shared", 0, None, 105, 105)])


def test_a_write_that_stays_in_flight_changes_nothing(admin: Admin) -> None:
    """No answer within the wait: the page says to try again, and nothing changed."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5, variant=1, item=11, base=5)
    _in_flight(admin, "p1")

    response = admin.post("/admin/products/p1/allocation", policy="shared")

    assert "is still waiting for its answer" in response.text  # type: ignore[attr-defined]
    assert "nothing was changed" in response.text  # type: ignore[attr-defined]
    assert admin.sql(OWN, p="p1") == [("split", None, None, 100, 5)]  # as it was


def test_products_page_filters_by_policy(admin: Admin) -> None:
    """``policy=shared`` lists the shared products; ``split`` also those without their own
    (the settings' default); a bad value is a 400 with the whole list."""
    admin.sign_in()
    admin.add("own-shared", sku="A-1", b2c=1)
    admin.add("own-split", sku="B-1", b2c=1)
    admin.add("default", sku="C-1", b2c=1)
    admin.sql("UPDATE product_inventory SET allocation_policy = 'shared' WHERE sku = 'A-1'")
    admin.sql("UPDATE product_inventory SET allocation_policy = 'split' WHERE sku = 'B-1'")

    def listed(query: str) -> tuple[int, list[str]]:
        response = admin.client.get(f"/admin/products?{query}")
        return response.status_code, [
            pid for pid in ("own-shared", "own-split", "default") if f">{pid}</a>" in response.text
        ]

    assert listed("policy=shared") == (200, ["own-shared"])
    assert listed("policy=split") == (200, ["own-split", "default"])
    assert listed("policy=any") == (200, ["own-shared", "own-split", "default"])
    bad = admin.client.get("/admin/products?policy=pooled")
    assert bad.status_code == 400
    assert "policy: Input should be" in html.unescape(bad.text)


def test_csv_export_carries_the_allocation_and_why(admin: Admin) -> None:
    """Each exported row has the allocation that applies and the explanation line."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=7)
    admin.sql(
        "UPDATE product_inventory SET allocation_policy = 'shared', allocation_buffer = 5,"
        " allocation_cap = 50, b2b_stock = 12"
    )

    lines = admin.client.get("/admin/products.csv").text.splitlines()

    assert lines[0].endswith(",allocation_policy,allocation_buffer,allocation_cap,explanation")
    assert lines[1] == (
        'p1,A-1,12,7,,true,shared,5,50,"Shopify shows 7: pool 12 (b2b_stock, shared) minus '
        'buffer 5 = 7; cap 50 not reached"'
    )


def test_reconcile_preview_shows_the_policys_part(admin: Admin) -> None:
    """A shared pool with a buffer after a B2B order and a Shopify sale: the preview shows
    the pool, Shopify's sale going into it and why Shopify is to show the pool minus 5."""
    admin.sign_in()
    variant = admin.shop.add_variant("C-1", 92)  # agreed at 95, then a Shopify sale of 3
    admin.add("p1", sku="C-1", b2c=95, variant=variant.id, item=variant.inventory_item_id,
              base=95)  # fmt: skip
    admin.sql(
        "UPDATE product_inventory SET allocation_policy = 'shared', allocation_buffer = 5,"
        " pool_base = 100, b2b_stock = 90"  # a B2B order of 10 since
    )

    preview = html.unescape(admin.client.get("/admin/reconcile?preview=1").text)

    cells = re.findall(r'<td class="num">([^<]*)</td>', preview)
    assert cells == ["90", "92", "95", "82", "82", "-3"]
    assert '<td class="why">Shopify shows 82: pool 87 (b2b_stock, shared) minus buffer 5 = 82' in (
        preview
    )
