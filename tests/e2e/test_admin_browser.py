"""The admin page in a real browser against the whole stack, click by click."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.e2e.conftest import PASSWORD
from tests.integration.service.stack import Stack, wait_for

T = TypeVar("T")


@pytest.fixture(name="page")
def _page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A signed-in page of a browser set to Paris time, 1280 pixels wide."""
    context = browser.new_context(
        timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{stack.service}/admin/products")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("h1:has-text('Products')")
    try:
        yield page
    finally:
        context.close()


def off_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run database helpers (which start their own event loop) beside Playwright's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def ours(stack: Stack, pid: str) -> tuple[int, int | None]:
    """Our (b2c_stock, shopify_base)."""
    return off_loop(stack.ours, pid)


def add(stack: Stack, pid: str, sku: str, *, b2c: int, linked: bool, enabled: bool) -> None:
    """A product row as the Inventory Service writes it."""
    level = stack.levels()[sku]
    off_loop(
        stack.sql,
        "INSERT INTO product_inventory (product_id, sku, title, b2b_stock, b2c_stock,"
        " shopify_variant_id, shopify_inventory_item_id, sync_enabled)"
        " VALUES (:p, :s, :t, 120, :b2c, :v, :i, :e)",
        p=pid, s=sku, t=f"Product {sku[-2:]}", b2c=b2c,
        v=str(level["variant_id"]) if linked else None,
        i=level["inventory_item_id"] if linked else None, e=enabled,
    )  # fmt: skip


def test_sign_in_shows_the_products_in_the_operator_zone(
    page: Any, stack: Stack, artifacts: Path
) -> None:
    """After sign-in the products page lists, counts and filters, with Paris times."""
    add(stack, "b2b-001", "SKU-000001", b2c=30, linked=True, enabled=True)
    add(stack, "b2b-004", "SKU-000004", b2c=8, linked=False, enabled=False)
    wait_for(lambda: ours(stack, "b2b-001")[1] == 30, what="the first sync of b2b-001")
    page.reload()

    row = page.locator("tr", has=page.locator("a:text-is('b2b-001')"))
    synced = row.locator("td").nth(10).inner_text()
    b2b = row.locator("td.num").first.inner_text()
    page.screenshot(path=str(artifacts / "products.png"), full_page=True)
    page.click("nav.tabs a:has-text('Unlinked')")

    assert b2b == "120"
    assert synced.endswith(("CEST", "CET"))
    assert page.locator("a:text-is('b2b-004')").count() == 1
    assert page.locator("a:text-is('b2b-001')").count() == 0


def test_link_by_sku_search_allocate_enable_and_sync(
    page: Any, stack: Stack, artifacts: Path
) -> None:
    """Link by searching Shopify's SKU, set the allocation, enable: Shopify shows it."""
    add(stack, "b2b-002", "SKU-000002", b2c=5, linked=False, enabled=False)
    page.goto(f"{stack.service}/admin/products/b2b-002")

    page.fill("input[name=variant_q]", "SKU-000002")
    page.click("button:has-text('Search Shopify')")
    page.click("button:has-text('Link')")
    page.wait_for_selector("p.flash.ok:has-text('Linked to')")
    page.fill("form.inline input[name=b2c]", "42")
    page.click("button:has-text('Save allocation')")
    page.wait_for_selector("p.flash.ok:has-text('Allocation saved')")
    page.click("button:has-text('Enable sync')")
    page.wait_for_selector("p.flash.ok:has-text('Sync enabled.')")
    wait_for(lambda: stack.available("SKU-000002") == 42, what="Shopify to show 42")
    page.click("button:has-text('Sync now')")
    page.wait_for_selector("p.flash.ok:has-text('Synced:')")
    page.screenshot(path=str(artifacts / "product.png"), full_page=True)

    assert page.locator("#shopify-available").inner_text() == "42"
    assert page.locator("#ours-b2c").inner_text() == "42"
    assert "Both sides agree" in page.locator("ul.explain").inner_text()


def test_the_allocation_panel_sets_a_shared_pool_with_a_buffer_and_a_cap(
    page: Any, stack: Stack, artifacts: Path
) -> None:
    """Policy, buffer and cap set in the panel: Shopify shows the shared pool minus the
    buffer, capped, and the page says why."""
    add(stack, "b2b-006", "SKU-000006", b2c=10, linked=True, enabled=True)
    wait_for(lambda: ours(stack, "b2b-006")[1] == 10, what="the first sync of b2b-006")
    page.goto(f"{stack.service}/admin/products/b2b-006")

    page.select_option("#allocation-form select[name=policy]", "shared")
    page.fill("#allocation-form input[name=buffer]", "5")
    page.uncheck("#allocation-form input[name=no_cap]")
    page.fill("#allocation-form input[name=cap]", "100")
    page.click("button:has-text('Save policy')")
    page.wait_for_selector("p.flash.ok:has-text('split -> shared')")
    wait_for(lambda: stack.available("SKU-000006") == 100, what="Shopify to show 100")
    page.reload()
    page.screenshot(path=str(artifacts / "product-allocation.png"), full_page=True)

    assert page.locator("#allocation").inner_text() == "shared, buffer 5, cap 100"
    assert page.locator("#published").inner_text() == (
        "Shopify shows 100: pool 130 (b2b_stock, shared) minus buffer 5 = 125; cap 100 reached"
    )


def test_reconcile_dry_run_then_apply(page: Any, stack: Stack, artifacts: Path) -> None:
    """A merchant's edit we were not told about shows in the preview; apply takes it."""
    add(stack, "b2b-003", "SKU-000003", b2c=20, linked=True, enabled=True)
    wait_for(lambda: ours(stack, "b2b-003")[1] == 20, what="the first sync of b2b-003")
    stack.sim("POST", "/merchant/set", json={"sku": "SKU-000003", "available": 17})

    page.goto(f"{stack.service}/admin/reconcile")
    page.click("button:has-text('Preview (dry run)')")
    row = page.locator("#plan tr", has=page.locator("a:text-is('b2b-003')"))
    cells = row.locator("td.num").all_inner_texts()
    page.screenshot(path=str(artifacts / "reconcile.png"), full_page=True)
    page.click("button:has-text('Apply reconcile')")
    page.wait_for_selector("p.flash:has-text('Reconciled:')")

    assert cells == ["20", "17", "20", "17", "", "-3"]
    assert ours(stack, "b2b-003") == (17, 17)


def test_a_forged_form_is_refused(page: Any, stack: Stack) -> None:
    """A form whose CSRF token was tampered with is refused and changes nothing."""
    add(stack, "b2b-005", "SKU-000005", b2c=9, linked=False, enabled=False)
    page.goto(f"{stack.service}/admin/products/b2b-005")

    page.eval_on_selector_all("input[name=csrf]", "els => els.forEach(e => e.value = 'forged')")
    page.fill("form.inline input[name=b2c]", "1")
    with page.expect_response(lambda r: r.url.endswith("/allocate")) as answer:
        page.click("button:has-text('Save allocation')")

    assert answer.value.status == 403
    assert page.locator("h1").inner_text() == "Form refused"
    assert ours(stack, "b2b-005")[0] == 9
