"""The safety net under every semantic diff (pure): a change the format's model does not explain
is shown as ``uninterpreted change at <XPath / JSON pointer>: old → new``, never as nothing.

Approvers sign what the diff shows, so a byte change that changes meaning must never vanish. The
document is reduced to its leaves (XML element text and attributes, JSON scalars), each keyed by its
path with its ancestors' identities (a name, an ID) instead of sibling positions; comparing the two
multisets ignores what carries no meaning (sibling order, indentation, key order, encoding, namespace
prefixes, comments) and keeps every value that changed, with the path where it sits.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from typing import Any

from gatekeeper.formats._common import brief, clip, load_json, show
from gatekeeper.formats._xml import local, parse_xml
from gatekeeper.formats.base import SemanticChange

Leaf = tuple[str, str, str]
"""(path without positions, value, path with positions as shown)."""
UNINTERPRETED = "uninterpreted change"


def leaves(data: bytes, kind: str) -> list[Leaf]:
    """The leaves of ``data`` read as ``kind`` (``xml`` or ``json``); raises ContentError."""
    if kind == "xml":
        root = parse_xml(data, "XML").root
        return list(_xml(root, f"/{local(root.tag)}", f"/{local(root.tag)}"))
    return list(_json(load_json(data, "JSON"), "", ""))


def uninterpreted(old: bytes, new: bytes, kind: str) -> list[SemanticChange]:
    """Leaf changes between ``old`` and ``new``, one line each, in the new file's order."""
    before, after = leaves(old, kind), leaves(new, kind)
    gone = Counter((key, value) for key, value, _ in before) - Counter((key, value) for key, value, _ in after)
    came = Counter((key, value) for key, value, _ in after) - Counter((key, value) for key, value, _ in before)
    removed: dict[str, list[Leaf]] = {}
    for leaf in before:
        if gone[leaf[:2]] > 0:
            gone[leaf[:2]] -= 1
            removed.setdefault(leaf[0], []).append(leaf)
    changes: list[SemanticChange] = []
    for key, value, shown in after:
        if came[(key, value)] <= 0:
            continue
        came[(key, value)] -= 1
        pending = removed.get(key)
        was = pending.pop(0)[1] if pending else None
        changes.append(_line(shown, was, value))
    for rest in removed.values():
        changes.extend(_line(shown, value, None) for _key, value, shown in rest)
    return changes


def _line(where: str, old: str | None, new: str | None) -> SemanticChange:
    shown_old = "(absent)" if old is None else brief(old)
    shown_new = "(absent)" if new is None else brief(new)
    return SemanticChange("changed", where, f"{UNINTERPRETED} at {where}: {shown_old} → {shown_new}",
                          clip(old), clip(new))


def _xml(node: ET.Element, key: str, shown: str) -> Iterator[Leaf]:
    """``key`` and ``shown`` are this element's own paths (identity-keyed and positional)."""
    for attr, value in sorted(node.attrib.items()):
        yield f"{key}/@{local(attr)}", value, f"{shown}/@{local(attr)}"
    text = " ".join((node.text or "").split())
    if text or len(node) == 0:
        yield f"{key}/text()", text, f"{shown}/text()" if len(node) else shown
    totals = Counter(local(sub.tag) for sub in node if isinstance(sub.tag, str))
    seen: Counter[str] = Counter()
    for sub in node:
        tail = " ".join((sub.tail or "").split())
        if tail:
            yield f"{key}/text()", tail, f"{shown}/text()"
        if not isinstance(sub.tag, str):  # comments, processing instructions
            continue
        name = local(sub.tag)
        seen[name] += 1
        position = f"[{seen[name]}]" if totals[name] > 1 else ""
        ident = _xml_identity(sub)
        yield from _xml(sub, f"{key}/{name}" + (f"[{ident}]" if ident else ""), f"{shown}/{name}{position}")


def _xml_identity(node: ET.Element) -> str:
    """What names an element independently of its position: a ``name``/``localId`` attribute or an
    ``ID`` child (so two swapped values are a change, two swapped elements are not)."""
    for attr in ("name", "localId", "id"):
        if node.get(attr):
            return f"@{attr}={node.get(attr)}"
    for sub in node:
        if isinstance(sub.tag, str) and local(sub.tag) in ("ID", "ConstraintID") and len(sub) == 0:
            return f"ID={(sub.text or '').strip()}"
    return ""


IDENTITY_KEYS = ("name", "common.ALLTYPES_NAME", "id", "ID", "mapping_id")


def _json(value: Any, key: str, pointer: str) -> Iterator[Leaf]:
    if isinstance(value, dict) and value:
        for name, item in value.items():
            escaped = str(name).replace("~", "~0").replace("/", "~1")
            yield from _json(item, f"{key}/{escaped}", f"{pointer}/{escaped}")
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            ident = next((str(item[k]) for k in IDENTITY_KEYS if isinstance(item, dict)
                          and isinstance(item.get(k), str)), "*")
            yield from _json(item, f"{key}/[{ident}]", f"{pointer}/{index}")
    else:
        yield key or "/", show(value), pointer or "/"
