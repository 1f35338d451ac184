"""The exception tree drawn in ``errors.py`` is the tree the code defines."""

from __future__ import annotations

import inspect
import re

from shopify_sync import errors

DESCRIPTION_COLUMN = 20
"""Class names are drawn left of this column; descriptions and their continuations right."""


def _drawn() -> dict[str, str | None]:
    """Each class the module docstring draws, with the class drawn as its parent."""
    doc = errors.__doc__ or ""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^( +)([A-Z]\w+)( |$)", line)
        if match is None or len(match.group(1)) >= DESCRIPTION_COLUMN:
            continue  # prose, or a description's continuation line
        indent, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((indent, name))
    return parents


def _defined() -> dict[str, str | None]:
    """Each exception class of the module, with its base class."""
    return {
        name: (None if cls is errors.ShopifySyncError else cls.__bases__[0].__name__)
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.ShopifySyncError) and cls.__module__ == errors.__name__
    }


def test_the_drawn_tree_is_the_defined_tree() -> None:
    """Every exception class appears in the drawing under its real base class, and the
    drawing names no class the module lacks."""
    assert _drawn() == _defined()
