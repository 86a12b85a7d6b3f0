"""The format registry, one for the hook, the service and the CLI (SPEC §4): format names, which
formats are tag configurations, and which category format a path has.

Light on purpose (the hooks import it; the format modules themselves are only loaded by
``gatekeeper.formats``, which takes its names from here).
"""

from __future__ import annotations

from collections.abc import Iterable

from gatekeeper.policy.categories import classify

FORMAT_NAMES: tuple[str, ...] = ("batchml", "ignition-tags", "kepware-project", "plcopen-xml", "erp-mapping-csv")
TAG_FORMATS: tuple[str, ...] = ("ignition-tags", "kepware-project")
"""Formats whose files define tag paths (``formats.tag_index``)."""
CROSS_FILE_FORMATS: tuple[str, ...] = ("erp-mapping-csv",)
"""Formats whose check needs the tag paths of the whole tree."""
CONTEXT_FORMATS: tuple[str, ...] = TAG_FORMATS + CROSS_FILE_FORMATS
"""A change to one of these makes the hook send the tree's files of these formats as context."""

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the hooks import this module
if TYPE_CHECKING:
    from typing import Any


def format_of(path: str, categories: Iterable[Any]) -> str | None:
    """The format of the first category of ``path`` (``classify``: the ``default`` category only when
    no other matches) that names one. ``categories``: config ``Category``s or the hooks' lean view."""
    return next((c.format for c in classify(path, categories) if c.format), None)
