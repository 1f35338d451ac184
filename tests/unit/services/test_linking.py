"""Linking products to Shopify variants, one by one and by SKU (services.linking)."""

from __future__ import annotations

import pytest

from shopify_sync.domain.commands import AutoLink, LinkProduct
from shopify_sync.errors import LinkConflict, UnknownProduct, UnknownVariant
from shopify_sync.services import linking
from shopify_sync.services.linking import LinkResult
from shopify_sync.types import ProductId, VariantId
from tests.factories import push_start
from tests.unit.services.admin_data import add_product, log_of, product
from tests.unit.services.conftest import World
from tests.unit.services.shop_fakes import _shop_world, shop  # noqa: F401  (a fixture)

pytestmark = pytest.mark.anyio


async def link(
    world: World, pid: str, *, sku: str | None = None, variant: int | None = None
) -> LinkResult:
    """Link through the use case."""
    cmd = LinkProduct(ProductId(pid), VariantId(variant) if variant else None, sku)
    return await linking.link_product(cmd, world.uow, world.store, world.clock)


def test_sku_query_quotes_every_sku() -> None:
    """SKUs are searched exactly, quoted, with quotes and backslashes escaped."""
    assert linking.sku_query(["A 1", 'B"2', "C\\3"]) == 'sku:"A 1" OR sku:"B\\"2" OR sku:"C\\\\3"'


async def test_link_by_sku_records_variant_and_item(shop_world: World) -> None:
    """Linking by SKU stores the variant and its item, restarts the base, and is logged."""
    variant = shop(shop_world).add_variant("ABC-1", title="Mug")
    pid = await add_product(shop_world, sku="abc-1", base=None)

    result = await link(shop_world, pid, sku=" abc-1 ")

    assert (True, str(variant.id), variant.inventory_item_id, None) == (
        result.changed,
        result.product.shopify_variant_id,
        result.product.inventory_item_id,
        result.product.shopify_base,
    )
    assert [f"linked to variant {variant.id} (Mug, SKU ABC-1)"] == [
        e.detail for e in await log_of(shop_world, pid) if e.field == "shopify_variant_id"
    ]


async def test_link_by_variant_id(shop_world: World) -> None:
    """Linking by variant id finds the variant whatever its SKU."""
    variant = shop(shop_world).add_variant(None)
    pid = await add_product(shop_world)

    result = await link(shop_world, pid, variant=variant.id)

    assert variant == result.variant


async def test_link_to_the_same_variant_again_changes_nothing(shop_world: World) -> None:
    """Relinking to the variant already linked keeps the agreed base."""
    variant = shop(shop_world).add_variant("S-1")
    pid = await add_product(shop_world, variant=variant.id, item=variant.inventory_item_id, base=10)

    result = await link(shop_world, pid, sku="S-1")

    assert (result.changed, result.product.shopify_base) == (False, 10)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sku": "NONE"}, UnknownVariant, "Shopify has no variant with SKU 'NONE'"),
        ({"variant": 5}, UnknownVariant, "Shopify has no variant with id 5"),
        ({"sku": "TWICE"}, LinkConflict, "2 Shopify variants share SKU 'TWICE'"),
        ({"sku": "LOOSE"}, LinkConflict, "does not track inventory"),
        ({"sku": "TAKEN"}, LinkConflict, "already linked to product other"),
    ],
)
async def test_link_refuses_what_is_ambiguous_or_unsafe(
    shop_world: World, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    """Unknown, shared, untracked or already linked variants are refused, nothing changes."""
    fake = shop(shop_world)
    fake.add_variant("TWICE")
    fake.add_variant("twice")
    fake.add_variant("LOOSE", tracked=False)
    taken = fake.add_variant("TAKEN")
    await add_product(
        shop_world, product_id="other", variant=taken.id, item=taken.inventory_item_id
    )
    pid = await add_product(shop_world)

    with pytest.raises(error, match=message):
        await link(shop_world, pid, **kwargs)  # type: ignore[arg-type]

    assert not (await product(shop_world, pid)).linked


async def test_link_refuses_an_unknown_product(shop_world: World) -> None:
    """Linking a product that does not exist raises UnknownProduct before asking Shopify."""
    with pytest.raises(UnknownProduct):
        await link(shop_world, "ghost", sku="X")

    assert shop(shop_world).queries == []


async def test_link_refuses_while_a_write_is_in_flight(shop_world: World) -> None:
    """A product whose push awaits Shopify's answer cannot be relinked meanwhile."""
    old, new = shop(shop_world).add_variant("OLD"), shop(shop_world).add_variant("NEW")
    pid = await add_product(shop_world, variant=old.id, item=old.inventory_item_id, base=10)
    async with shop_world.uow() as unit:
        await unit.products.begin_pushes(
            "k", [push_start(pid, 10, 9, 10, 10)], shop_world.clock.now()
        )
        await unit.commit()

    with pytest.raises(LinkConflict, match="waiting for its answer"):
        await link(shop_world, pid, variant=new.id)


async def test_link_command_needs_one_target(shop_world: World) -> None:
    """A LinkProduct names a variant id or a SKU, exactly one of them."""
    with pytest.raises(ValueError, match="variant id or a SKU"):
        await link(shop_world, "p")


async def test_unlink_forgets_the_variant_and_logs_it(shop_world: World) -> None:
    """Unlinking clears the variant and item, and says so in the log."""
    variant = shop(shop_world).add_variant("U-1")
    pid = await add_product(shop_world, variant=variant.id, item=variant.inventory_item_id)

    after = await linking.unlink_product(pid, shop_world.uow, shop_world.clock)
    again = await linking.unlink_product(pid, shop_world.uow, shop_world.clock)

    assert (after.linked, again.linked) == (False, False)
    assert [f"unlinked from variant {variant.id}"] == [
        e.detail for e in await log_of(shop_world, pid) if e.field == "shopify_variant_id"
    ]


async def test_unlink_refuses_an_unknown_product(shop_world: World) -> None:
    """Unlinking a product that does not exist raises UnknownProduct."""
    with pytest.raises(UnknownProduct):
        await linking.unlink_product("ghost", shop_world.uow, shop_world.clock)


async def test_search_variants_by_sku_then_title(shop_world: World) -> None:
    """A search lists exact SKU matches first, then variants whose title has the words."""
    fake = shop(shop_world)
    mug = fake.add_variant("MUG", title="Blue mug")
    big = fake.add_variant("MUG-BIG", title="Big mug")
    fake.add_variant("CUP", title="Cup")

    found = await linking.search_variants(shop_world.store, " mug ")
    nothing = await linking.search_variants(shop_world.store, "  ")

    assert ([mug.id, big.id], []) == ([v.id for v in found], nothing)


async def test_search_variants_finds_variants_by_their_product_title(shop_world: World) -> None:
    """Words of a product's title find its variants, after the SKU and variant matches,
    though Shopify's variant search does not look at the product's title."""
    fake = shop(shop_world)
    small = fake.add_variant("TS-S", title="Small", product_title="Linen shirt")
    large = fake.add_variant("TS-L", title="Large", product_title="Linen shirt")
    fake.add_variant("MUG", title="Blue mug", product_title="Mug")

    found = await linking.search_variants(shop_world.store, "linen SHIRT")

    assert [v.id for v in found] == [small.id, large.id]


# -- auto-link -----------------------------------------------------------------------------


async def arrange_catalogue(world: World) -> dict[str, str]:
    """One product for every outcome of auto-linking, by outcome."""
    fake = shop(world)
    fake.add_variant("GOOD-1")
    fake.add_variant("DUP-S")
    fake.add_variant("DUP-S")
    fake.add_variant("LOOSE", tracked=False)
    taken = fake.add_variant("TAKEN")
    fake.add_variant("DUP-O")
    await add_product(world, product_id="z-owner", sku="OTHER", variant=taken.id,
                      item=taken.inventory_item_id)  # fmt: skip
    return {
        "linked": await add_product(world, product_id="a-good", sku="good-1"),
        "duplicate_shopify": await add_product(world, product_id="b-dups", sku="DUP-S"),
        "untracked": await add_product(world, product_id="c-loose", sku="LOOSE"),
        "taken": await add_product(world, product_id="d-taken", sku="TAKEN"),
        "duplicate_ours": await add_product(world, product_id="e-dupo", sku="DUP-O"),
        "duplicate_ours_2": await add_product(world, product_id="f-dupo", sku=" dup-o "),
        "unmatched": await add_product(world, product_id="g-none", sku="NOWHERE"),
        "no_sku": await add_product(world, product_id="h-nosku", sku=None),
    }


@pytest.mark.parametrize("bulk_from", [1, linking.BULK_LINK_THRESHOLD])
async def test_auto_link_links_only_the_unambiguous(shop_world: World, bulk_from: int) -> None:
    """Only a product with a unique SKU on both sides and a free, tracked variant is linked,
    whether Shopify's variants are read in bulk or searched."""
    ids = await arrange_catalogue(shop_world)
    seen: list[int] = []

    report = await linking.auto_link(
        AutoLink(), shop_world.uow, shop_world.store, shop_world.clock, progress=seen.append,
        bulk_from=bulk_from,
    )  # fmt: skip

    assert {i.product_id: i.outcome for i in report.items} == {
        "a-good": "linked", "b-dups": "duplicate_shopify", "c-loose": "untracked",
        "d-taken": "taken", "e-dupo": "duplicate_ours", "f-dupo": "duplicate_ours",
        "g-none": "unmatched", "h-nosku": "no_sku",
    }  # fmt: skip
    assert (report.linked, seen) == (1, [8])
    assert [ids["linked"]] == [
        pid for pid in ids.values() if (await product(shop_world, pid)).linked
    ]


async def test_auto_link_dry_run_writes_nothing(shop_world: World) -> None:
    """A dry run reports what would be linked and links nothing."""
    ids = await arrange_catalogue(shop_world)

    report = await linking.auto_link(
        AutoLink(dry_run=True), shop_world.uow, shop_world.store, shop_world.clock
    )

    assert (report.dry_run, [i.product_id for i in report.of("linked")]) == (True, ["a-good"])
    assert not (await product(shop_world, ids["linked"])).linked


async def test_auto_link_never_gives_one_variant_to_two_products(shop_world: World) -> None:
    """Two products whose SKUs match one variant case-insensitively are both refused."""
    shop(shop_world).add_variant("CASE-1")
    await add_product(shop_world, product_id="p1", sku="CASE-1")
    await add_product(shop_world, product_id="p2", sku="case-1")

    report = await linking.auto_link(AutoLink(), shop_world.uow, shop_world.store, shop_world.clock)

    assert [i.outcome for i in report.items] == ["duplicate_ours", "duplicate_ours"]


async def test_auto_link_searches_skus_in_batches(shop_world: World) -> None:
    """SKUs are searched many per query, not one query per product."""
    for n in range(linking.SKUS_PER_QUERY + 1):
        shop(shop_world).add_variant(f"B-{n}")
        await add_product(shop_world, sku=f"B-{n}")

    report = await linking.auto_link(AutoLink(), shop_world.uow, shop_world.store, shop_world.clock)

    assert (report.linked, len(shop(shop_world).queries)) == (linking.SKUS_PER_QUERY + 1, 2)


async def test_auto_link_reads_a_large_catalogue_in_one_bulk_operation(shop_world: World) -> None:
    """From the threshold on, one bulk read replaces the searches and reports what it read."""
    fake = shop(shop_world)
    for n in range(3):
        fake.add_variant(f"K-{n}")
        await add_product(shop_world, sku=f"k-{n}")
    fake.add_variant("NOT-OURS")
    read: list[int] = []

    report = await linking.auto_link(
        AutoLink(), shop_world.uow, shop_world.store, shop_world.clock, reading=read.append,
        bulk_from=3,
    )  # fmt: skip

    assert (report.linked, fake.bulk_reads, fake.queries, sum(read)) == (3, 1, [], 4)


@pytest.mark.parametrize(
    ("bulk_from", "reported"),
    [
        (linking.BULK_LINK_THRESHOLD, [("taken", "linked by someone else meanwhile")]),
        (1, []),  # read in bulk before our products are walked: no longer unlinked then
    ],
)
async def test_auto_link_leaves_a_product_linked_meanwhile(
    shop_world: World, bulk_from: int, reported: list[tuple[str, str]]
) -> None:
    """A product linked by someone else while Shopify was read is never relinked."""
    fake = shop(shop_world)
    mine, theirs = fake.add_variant("M-1"), fake.add_variant("OTHER")
    pid = await add_product(shop_world, sku="M-1")

    async def link_elsewhere() -> None:
        await link(shop_world, pid, variant=theirs.id)

    fake.before_search.append(link_elsewhere)

    report = await linking.auto_link(
        AutoLink(), shop_world.uow, shop_world.store, shop_world.clock, bulk_from=bulk_from
    )

    assert [(i.outcome, i.detail) for i in report.items] == reported
    assert theirs.inventory_item_id == (await product(shop_world, pid)).inventory_item_id
    assert mine.id != theirs.id
