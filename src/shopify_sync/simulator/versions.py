"""API version handling: which version answers a request, and the runtime rules of each version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shopify_sync.simulator.config import SUPPORTED_VERSIONS

_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")


def resolve_version(requested: str) -> str | None:
    """Return the version that answers a request for `requested`, or None for a 404.

    Shopify answers a request for a version it no longer supports with its oldest supported
    stable version; `unstable` is served by the newest schema here. Anything that is not a
    quarterly release name, or a release newer than the newest supported one, is not found.
    """
    if requested == "unstable":
        return SUPPORTED_VERSIONS[-1]
    if not _VERSION.match(requested) or requested > SUPPORTED_VERSIONS[-1]:
        return None
    if requested < SUPPORTED_VERSIONS[0]:
        return SUPPORTED_VERSIONS[0]
    return requested


@dataclass(frozen=True, slots=True)
class VersionRules:
    """Behaviour that differs by API version and that the schema alone cannot express."""

    version: str

    @property
    def change_from_supported(self) -> bool:
        """`changeFromQuantity` exists (2026-01+)."""
        return self.version >= "2026-01"

    @property
    def change_from_required(self) -> bool:
        """Every entry must carry `changeFromQuantity`, maybe null (2026-04+)."""
        return self.version >= "2026-04"

    @property
    def idempotency_supported(self) -> bool:
        """`@idempotent` is declared (2026-01+)."""
        return self.version >= "2026-01"

    @property
    def idempotency_required(self) -> bool:
        """Inventory mutations fail without `@idempotent` (2026-04+)."""
        return self.version >= "2026-04"

    @property
    def requires_stocked(self) -> bool:
        """Quantities change only where the item is stocked (up to 2026-07)."""
        return self.version < "2026-10"

    @property
    def activate_keeps_quantities(self) -> bool:
        """`inventoryActivate` keeps existing quantities instead of zeroing them (2026-04+)."""
        return self.version >= "2026-04"

    @property
    def concurrent_bulk_queries(self) -> int:
        """How many bulk queries may run at once (one before 2026-01; an assumption after)."""
        return 5 if self.version >= "2026-01" else 1
