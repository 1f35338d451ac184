"""Use case: ``shopify-sync doctor`` and the admin page's Setup panel: every check of what a
merchant can get wrong, each with what was found and, when it fails, what to do.

The checks run in order; a check that cannot run because an earlier one failed (no answer
from Shopify, no database) fails with "not checked" and points at the earlier one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shopify_sync.domain.model import AppAccess, LevelRead
from shopify_sync.errors import (
    InvalidRequest,
    StorageError,
    StoreAuthFailed,
    StoreError,
    StoreRejected,
)
from shopify_sync.services import setup
from shopify_sync.services.handlers import BULK_THRESHOLD
from shopify_sync.services.ports import Clock, StoreClient, UnitOfWorkFactory
from shopify_sync.types import InventoryItemId, LocationId, ProductId

REQUIRED_SCOPES = ("read_inventory", "write_inventory", "read_products", "read_orders")
"""What the sync needs; a ``write_`` scope also grants its ``read_``."""
SHOWN_IDS = 5
"""How many product ids a failed check names."""
STALE_RECONCILES = 3
"""The last good reconcile is stale after this many reconcile intervals."""


@dataclass(frozen=True, slots=True)
class Check:
    """One check: its name, whether it passed, what was found and, failing, what to do."""

    name: str
    ok: bool
    found: str
    fix: str = ""

    def line(self) -> str:
        """``ok: ...`` or ``fail: ... -> do this``."""
        if self.ok:
            return f"ok: {self.found}"
        return f"fail: {self.found} -> {self.fix}" if self.fix else f"fail: {self.found}"


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check, in order."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)


@dataclass(frozen=True, slots=True)
class Doctor:
    """What the checks look at.

    Attributes:
        store: Shopify.
        uow: our database.
        clock: for the age of the last reconcile.
        database_problem: why the database cannot be used (unreachable, not migrated), or None.
        credentials: how we authenticate, for people (e.g. "client credentials of app X").
        api_version: the configured ``SHOPIFY_API_VERSION``.
        location_id: the configured ``SHOPIFY_LOCATION_ID`` (None when unset).
        address: our public base URL (``PUBLIC_URL`` or ``--address``; None when neither).
        reconcile_interval_s: how often the service reconciles.
        bulk_from: from this many linked products on, items are read in one bulk operation.
    """

    store: StoreClient
    uow: UnitOfWorkFactory
    clock: Clock
    database_problem: Callable[[], Awaitable[str | None]]
    credentials: str
    api_version: str
    location_id: LocationId | None
    address: str | None
    reconcile_interval_s: float
    bulk_from: int = BULK_THRESHOLD
    _checks: list[Check] = field(default_factory=list)

    async def run(self) -> DoctorReport:
        """Run every check."""
        self._checks.clear()
        access = await self._credentials()
        self._versions_and_scopes(access)
        await self._location(reachable=access is not None)
        await self._webhooks(reachable=access is not None)
        database_ok = await self._database()
        await self._items(reachable=access is not None, database_ok=database_ok)
        await self._products(database_ok)
        return DoctorReport(tuple(self._checks))

    def _add(self, name: str, ok: bool, found: str, fix: str = "") -> None:
        self._checks.append(Check(name, ok, found, fix))

    async def _credentials(self) -> AppAccess | None:
        try:
            access = await self.store.app_access()
        except StoreAuthFailed as exc:
            self._add("credentials", False, str(exc), _CREDENTIALS_FIX)
            return None
        except StoreRejected as exc:
            self._add(
                "credentials",
                False,
                f"Shopify refused the first call ({exc})",
                "check SHOPIFY_STORE_DOMAIN (or SHOPIFY_ADMIN_URL) and SHOPIFY_API_VERSION",
            )
            return None
        except StoreError as exc:
            self._add(
                "credentials",
                False,
                f"Shopify did not answer ({exc})",
                "check SHOPIFY_STORE_DOMAIN (or SHOPIFY_ADMIN_URL) and the network; try again",
            )
            return None
        self._add("credentials", True, f"Shopify accepts the {self.credentials}")
        return access

    def _versions_and_scopes(self, access: AppAccess | None) -> None:
        if access is None:
            self._add("api_version", False, _NOT_CHECKED, _FIX_FIRST)
            self._add("scopes", False, _NOT_CHECKED, _FIX_FIRST)
            return
        answered = access.api_version
        if answered is None or answered == self.api_version:
            self._add("api_version", True, f"API version {self.api_version} is served")
        else:
            self._add(
                "api_version",
                False,
                f"Shopify answered API version {self.api_version} with {answered}: "
                f"{self.api_version} is not supported (any more)",
                f"set SHOPIFY_API_VERSION to a supported version, e.g. {answered}",
            )
        granted = set(access.scopes)
        missing = [
            scope
            for scope in REQUIRED_SCOPES
            if scope not in granted and scope.replace("read_", "write_") not in granted
        ]
        if not missing:
            self._add("scopes", True, f"granted scopes include {', '.join(REQUIRED_SCOPES)}")
        else:
            self._add(
                "scopes",
                False,
                f"the app lacks the scopes {', '.join(missing)} "
                f"(granted: {', '.join(sorted(granted)) or 'none'})",
                "add them to the app's Admin API scopes (Dev Dashboard: the app's version; "
                "an admin-created app: its configuration), then approve the update on the store",
            )

    async def _location(self, *, reachable: bool) -> None:
        if self.location_id is None:
            self._add(
                "location",
                False,
                "SHOPIFY_LOCATION_ID is not set",
                "run `shopify-sync locations` and set SHOPIFY_LOCATION_ID to the location "
                "you sell from",
            )
            return
        if not reachable:
            self._add("location", False, _NOT_CHECKED, _FIX_FIRST)
            return
        try:
            problem = await setup.location_problem(self.store, self.location_id)
        except StoreError as exc:
            self._add("location", False, f"could not read the location ({exc})", "try again")
            return
        if problem is None:
            self._add("location", True, f"location {self.location_id} exists and is active")
        else:
            self._add(
                "location",
                False,
                problem,
                "run `shopify-sync locations` and set SHOPIFY_LOCATION_ID to an active location",
            )

    async def _webhooks(self, *, reachable: bool) -> None:
        if self.address is None:
            self._add(
                "webhooks",
                False,
                "no public address to check the subscriptions against",
                "set PUBLIC_URL to the service's public base URL (or pass --address)",
            )
            return
        if not reachable:
            self._add("webhooks", False, _NOT_CHECKED, _FIX_FIRST)
            return
        try:
            check = await setup.check_webhooks(self.store, self.address)
        except InvalidRequest as exc:
            self._add("webhooks", False, str(exc), "fix PUBLIC_URL (or --address)")
            return
        except StoreError as exc:
            self._add("webhooks", False, f"could not read the subscriptions ({exc})", "try again")
            return
        if check.healthy:
            topics = ", ".join(sorted(sub.topic for sub in check.ok))
            self._add("webhooks", True, f"{topics} deliver to {self.address}")
            return
        problems = [f"missing {topic}" for topic, _ in check.missing]
        problems += [f"{sub.topic} delivers to {sub.uri}" for sub in check.wrong]
        problems += [f"extra {sub.topic} at {sub.uri}" for sub in check.extra]
        self._add(
            "webhooks",
            False,
            "; ".join(problems),
            "run `shopify-sync webhooks check --repair`",
        )

    async def _database(self) -> bool:
        problem = await self.database_problem()
        if problem is None:
            self._add("database", True, "the database is reachable and migrated")
            return True
        found, _, advice = problem.partition(": run ")
        fix = f"run {advice}" if advice else "check DATABASE_URL and that the database is up"
        self._add("database", False, found, fix)
        return False

    async def _items(self, *, reachable: bool, database_ok: bool) -> None:
        if not database_ok:
            self._add("inventory_items", False, _NOT_CHECKED, "fix the database first")
            return
        if not reachable or self.location_id is None:
            self._add("inventory_items", False, _NOT_CHECKED, _FIX_FIRST)
            return
        try:
            linked = await self._linked()
            levels = await self._levels(linked)
        except (StoreError, StorageError) as exc:
            self._add("inventory_items", False, f"could not read the items ({exc})", "try again")
            return
        untracked: list[ProductId] = []
        not_stocked: list[ProductId] = []
        unknown: list[ProductId] = []
        for product_id, item in linked:
            level = levels.get(item)
            if level is None or not level.known:
                unknown.append(product_id)
            elif not level.tracked:
                untracked.append(product_id)
            elif level.available is None:
                not_stocked.append(product_id)
        if not (untracked or not_stocked or unknown):
            self._add(
                "inventory_items",
                True,
                f"all {len(linked)} linked products are tracked and stocked at the location",
            )
            return
        found = "; ".join(
            f"{len(ids)} {what} (first: {', '.join(ids[:SHOWN_IDS])})"
            for ids, what in (
                (untracked, "linked products whose item Shopify does not track"),
                (not_stocked, f"not stocked at location {self.location_id}"),
                (unknown, "linked to an item Shopify does not have"),
            )
            if ids
        )
        self._add(
            "inventory_items",
            False,
            found,
            "in Shopify turn on 'Track quantity' and stock the items at the location; "
            "relink products whose item is gone (`shopify-sync products link`)",
        )

    async def _linked(self) -> list[tuple[ProductId, InventoryItemId]]:
        linked: list[tuple[ProductId, InventoryItemId]] = []
        after: str | None = None
        while True:
            async with self.uow() as unit:
                page = await unit.products.syncable(after=after, limit=1000)
            if not page:
                return linked
            after = page[-1].product_id
            linked += [
                (p.product_id, p.inventory_item_id) for p in page if p.inventory_item_id is not None
            ]

    async def _levels(
        self, linked: Sequence[tuple[ProductId, InventoryItemId]]
    ) -> dict[InventoryItemId, LevelRead]:
        wanted = {item for _, item in linked}
        levels: dict[InventoryItemId, LevelRead] = {}
        if len(wanted) >= self.bulk_from:
            async for level in self.store.snapshot_levels():
                if level.inventory_item_id in wanted:
                    levels[level.inventory_item_id] = level
        rest = [item for item in wanted if item not in levels]
        if rest:
            levels.update(await self.store.read_levels(rest))
        return levels

    async def _products(self, database_ok: bool) -> None:
        if not database_ok:
            self._add("product_errors", False, _NOT_CHECKED, "fix the database first")
            self._add("last_reconcile", False, _NOT_CHECKED, "fix the database first")
            return
        async with self.uow() as unit:
            states = await unit.products.states()
            failing = await unit.products.page(errors=True, limit=SHOWN_IDS)
        errors, parked = states.counts["error"], states.counts["parked"]
        if errors == parked == 0:
            self._add("product_errors", True, "no product has a sync error or is parked")
        else:
            first = ", ".join(p.product_id for p in failing)
            self._add(
                "product_errors",
                False,
                f"{errors} products with a sync error, {parked} parked (first: {first})",
                "`shopify-sync errors` says why; fix the cause, then `shopify-sync retry "
                "--parked` (errors retry by themselves)",
            )
        self._reconcile_age(states.last_reconcile_ok_at)

    def _reconcile_age(self, last: datetime | None) -> None:
        if last is None:
            self._add(
                "last_reconcile",
                False,
                "no reconcile has succeeded yet",
                "run `shopify-sync sync --all`, or start `shopify-sync serve`, which "
                "reconciles every RECONCILE_INTERVAL_SECONDS",
            )
            return
        age = self.clock.now() - last
        text = f"the last successful reconcile finished {_ago(age)} ago"
        limit = timedelta(seconds=self.reconcile_interval_s * STALE_RECONCILES)
        if age <= limit:
            self._add("last_reconcile", True, text)
        else:
            self._add(
                "last_reconcile",
                False,
                f"{text} (the interval is {_ago(timedelta(seconds=self.reconcile_interval_s))})",
                "check that `shopify-sync serve` runs and what /health says about the reconcile",
            )


_NOT_CHECKED = "not checked"
_FIX_FIRST = "fix the credentials first"
_CREDENTIALS_FIX = "the README's set-up steps say where each value comes from"


def _ago(age: timedelta) -> str:
    seconds = int(max(age.total_seconds(), 0))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172_800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
