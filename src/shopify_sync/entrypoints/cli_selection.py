"""Entrypoint helpers: choose several products at once on the command line.

``products enable|disable`` and ``retry`` take product ids, or ``--all`` and filters
(``--errors``, ``--unlinked``...) that combine like ``products list``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import typer

from shopify_sync.entrypoints.cli_output import finish_sync, print_json
from shopify_sync.services import admin
from shopify_sync.types import ProductId

IDS = typer.Argument(None, help="The products (or choose them with --all or a filter).")
ALL = typer.Option(False, "--all", help="Every product.")
ERRORS = typer.Option(False, "--errors", help="Products whose sync failed (parked or not).")
UNLINKED = typer.Option(False, "--unlinked", help="Products without a variant.")
LINKED = typer.Option(False, "--linked", help="Products linked to a variant.")
DISABLED = typer.Option(False, "--disabled", help="Products with sync off.")
PARKED = typer.Option(False, "--parked", help="Products parked after failures.")


@dataclass(frozen=True, slots=True)
class Selection:
    """Products named by id, or every product matching ``filters`` (``--all``: no filter)."""

    ids: tuple[ProductId, ...]
    filters: admin.ProductFilter | None

    @property
    def single(self) -> ProductId | None:
        """The one product named, when exactly one was and no filter."""
        return self.ids[0] if len(self.ids) == 1 and self.filters is None else None


def selection(
    ids: Sequence[str] | None,
    *,
    all_: bool = False,
    errors: bool = False,
    unlinked: bool = False,
    linked: bool = False,
    disabled: bool = False,
    parked: bool = False,
) -> Selection:
    """The products a command is given: ids, or ``--all`` / filters (not both).

    Raises:
        typer.BadParameter: neither or both were given (exit 2).
    """
    chosen = admin.ProductFilter(
        linked=linked, unlinked=unlinked, errors=errors, disabled=disabled, parked=parked
    )
    filtering = all_ or chosen != admin.ProductFilter()
    if bool(ids) == filtering:
        raise typer.BadParameter(
            "give PRODUCT_IDs, or --all or a filter (--errors, --unlinked, --linked, "
            "--disabled, --parked), not both"
        )
    if ids:
        return Selection(tuple(ProductId(i) for i in ids), None)
    return Selection((), chosen)


def print_bulk(verb: str, change: admin.BulkChange, as_json: bool) -> None:
    """What a change of several products did: counts, then each sync; exit 1 if one failed."""
    if as_json:
        print_json(change)
    else:
        typer.echo(
            f"{verb} {len(change.changed):,} product(s)"
            + (f"; {len(change.unchanged):,} already were" if change.unchanged else "")
        )
    finish_sync(change.results, echo=not as_json)
