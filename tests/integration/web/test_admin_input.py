"""The admin page refuses politely: a missing or malformed query parameter or form field
shows the page again with a message and 400, never a 500, and changes nothing."""

from __future__ import annotations

import pytest

from tests.integration.web.test_admin_page import Admin, _admin  # noqa: F401  # the fixture


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/admin/log?before=" + "9" * 5000, "before: &#39;99999"),
        ("/admin/log?before=99999999999999999999", "before: &#39;99999999999999999999&#39; is not"),
        ("/admin/log?before=-3", "before: Input should be greater than or equal to 1"),
        ("/admin/products?filter=nonsense", "filter: Input should be &#39;all&#39;"),
        ("/admin/products?q=" + "x" * 300, "q: String should have at most 200 characters"),
        ("/admin/reconcile?preview=maybe", "preview: &#39;maybe&#39; is not yes or no"),
        ("/admin/products/p1?variant_q=%00", "variant_q: must not contain control characters"),
        ("/admin?window=1y", "window: Input should be &#39;24h&#39; or &#39;7d&#39;"),
    ],
)
def test_malformed_query_shows_the_page_without_it(admin: Admin, path: str, message: str) -> None:
    """A malformed query parameter is dropped with a message: the page, 400."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5)

    response = admin.client.get(path)

    assert response.status_code == 400
    assert 'class="flash error"' in response.text and message in response.text
    assert "<h1>" in response.text


@pytest.mark.parametrize(
    ("action", "form", "message"),
    [
        ("link", {}, "variant_id: is required"),
        ("link", {"variant_id": "9" * 30}, "variant_id: &#39;999999999999999999999999999999&#39;"),
        ("link", {"variant_id": "0"}, "variant_id: Input should be greater than or equal to 1"),
        ("allocate", {"b2c": "99999999999999999999"}, "b2c: &#39;99999999999999999999&#39; is"),
        ("allocate", {"b2c": "-1"}, "b2c: Input should be greater than or equal to 0"),
        ("allocate", {"move": "3", "to": "sideways"}, "to: Input should be &#39;b2b&#39;"),
    ],
)
def test_malformed_form_shows_the_product_again(
    admin: Admin, action: str, form: dict[str, str], message: str
) -> None:
    """A malformed or missing form field shows the product's page again with what was
    wrong (400) and changes nothing."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5)

    response = admin.post(f"/admin/products/p1/{action}", **form)

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    assert "p1" in response.text  # type: ignore[attr-defined]
    assert admin.sql("SELECT b2c_stock, shopify_variant_id FROM product_inventory") == [(5, None)]


def test_malformed_product_id_is_a_page_not_a_failure(admin: Admin) -> None:
    """A product id no product can have (too long) is a 400 page saying so."""
    admin.sign_in()

    response = admin.client.get("/admin/products/" + "x" * 300)

    assert response.status_code == 400
    assert "product id: 1 to 200 characters" in response.text


def test_sign_in_without_a_password_asks_for_it(admin: Admin) -> None:
    """A sign-in form without its password field is a 400 saying it is required."""
    token = admin.csrf("/admin/login")

    response = admin.client.post("/admin/login", data={"csrf": token})

    assert (response.status_code, "password: is required" in response.text) == (400, True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"scope": "everything"}, "scope: Input should be &#39;errors&#39; or &#39;selected&#39;"),
        ({"product_id": "x" * 300}, "product id: 1 to 200 characters"),
    ],
)
def test_malformed_retry_form_shows_the_errors_page_again(
    admin: Admin, form: dict[str, str], message: str
) -> None:
    """A retry form with an unknown scope or an impossible product id shows the Errors
    page again with what was wrong (400)."""
    admin.sign_in()

    response = admin.post("/admin/errors/retry", **form)

    assert (response.status_code, message in response.text) == (400, True)  # type: ignore[attr-defined]


def test_an_unknown_product_is_a_page_saying_so(admin: Admin) -> None:
    """An address naming no product shows an admin page saying so (404), not a JSON error."""
    admin.sign_in()

    response = admin.client.get("/admin/products/nothing-here")

    assert response.status_code == 404
    assert "no product with id &#39;nothing-here&#39;" in response.text and "<h1>" in response.text


def test_allocation_with_a_blank_field_keeps_that_stock(admin: Admin) -> None:
    """An allocation form with one box left blank (as a browser sends it) sets the other
    and keeps the blank one's stock, instead of failing with a 500."""
    admin.sign_in()
    admin.add("p1", sku="A-1", b2c=5)

    response = admin.post("/admin/products/p1/allocate", b2c="", b2b="7", move="", to="")

    assert response.status_code in (200, 303)  # type: ignore[attr-defined]
    assert admin.sql("SELECT b2b_stock, b2c_stock FROM product_inventory") == [(7, 5)]
