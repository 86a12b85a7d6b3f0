"""The semantic comparison of approved and live content (pure: bytes in, changes out).

The same format modules as change requests produce the diff, so a drift reads like a change
("tag Sample Tags/Sample Tag 1 value 1 → 5") and key order, whitespace and formatting do not
count. JSON exports are first compared as data with their volatile keys removed (fast: most
checks find nothing), and only a difference runs the format module. For a folder the set of
files counts too: a file missing from the live export, or one Git does not have, is a drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gatekeeper import formats
from gatekeeper.formats.base import SemanticChange

JSON_FORMATS = ("ignition-tags", "kepware-project")
VOLATILE_KEYS = frozenset({"PROJECT_ID"})
"""JSON keys that change without a configuration change: Kepware's Config API stamps every object
with ``PROJECT_ID``, a counter bumped by any edit anywhere in the project."""
_VOLATILE_BYTES = tuple(key.encode() for key in VOLATILE_KEYS)
UNREADABLE = "the new version cannot be read"
"""How ``formats.analyze`` starts the one change it reports for an unreadable new version."""


@dataclass
class Comparison:
    """``diff``: per differing file ``{"path", "format", "changes": [...]}`` (the change page's shape);
    ``unreadable``: live files the format cannot read (``path: reason``), a source error."""

    diff: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def in_line(self) -> bool:
        return not self.diff and not self.unreadable

    def texts(self) -> list[str]:
        return [f"{d['path']}: {c['text']}" for d in self.diff for c in d["changes"]]

    def summary(self, limit: int = 2) -> str:
        """``3 changes in tags/a.json: …; … (and 1 more)``; several files: each text names its file."""
        texts = self.texts()
        if not texts:
            return "live matches the approved content"
        count = f"{len(texts)} change{'s' if len(texts) != 1 else ''}"
        if len(self.diff) == 1:
            count += f" in {self.diff[0]['path']}"
            texts = [c["text"] for c in self.diff[0]["changes"]]
        more = f" (and {len(texts) - limit} more)" if len(texts) > limit else ""
        return f"{count}: " + "; ".join(texts[:limit]) + more


def compare(fmt: str, path: str, expected: dict[str, bytes], live: dict[str, bytes]) -> Comparison:
    """``expected``/``live`` map names relative to ``path`` to contents (``""``: ``path`` is a file)."""
    result = Comparison()
    for name in sorted(set(expected) | set(live)):
        full = f"{path}/{name}" if name else path
        old, new = expected.get(name), live.get(name)
        if old is not None and new is not None and (old == new or _same_json(fmt, old, new)):
            continue
        analysis = formats.analyze(fmt, full, _stable(fmt, old), _stable(fmt, new))
        changes = list(analysis.changes)
        broken = not changes and any(f.message.startswith("internal error") for f in analysis.findings)
        unreadable = any(c.element == "(file)" and c.text.startswith(UNREADABLE) for c in changes)
        if broken or (new is not None and unreadable):
            problem = next((f for f in analysis.findings if f.severity == "error"), None)
            result.unreadable.append(f"{full}: {problem.location}: {problem.message}" if problem else full)
            continue
        if new is None:
            changes.insert(0, SemanticChange("removed", "(file)", "missing from the live export"))
        elif old is None:
            changes.insert(0, SemanticChange("added", "(file)", "in the live export but not in Git"))
        if changes:
            result.diff.append({"path": full, "format": fmt, "changes": [c.to_dict() for c in changes]})
    return result


def _same_json(fmt: str, old: bytes | None, new: bytes | None) -> bool:
    if fmt not in JSON_FORMATS or old is None or new is None:
        return False
    a, b = _load(old), _load(new)
    if a is None or b is None:
        return False
    if a == b:
        return True
    return (_volatile(old) or _volatile(new)) and _strip(a) == _strip(b)


def _volatile(data: bytes) -> bool:
    return any(key in data for key in _VOLATILE_BYTES)


def _load(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return None


def _strip(value: Any) -> Any:
    """The document without :data:`VOLATILE_KEYS`, at any depth (iterative: no recursion limit)."""
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        node = parent[key]
        if isinstance(node, dict):
            copy = {k: v for k, v in node.items() if k not in VOLATILE_KEYS}
            parent[key] = copy
            stack.extend((copy, k) for k, v in copy.items() if isinstance(v, dict | list))
        elif isinstance(node, list):
            copy_list = list(node)
            parent[key] = copy_list
            stack.extend((copy_list, i) for i, v in enumerate(copy_list) if isinstance(v, dict | list))
    return root[0]


def _stable(fmt: str, data: bytes | None) -> bytes | None:
    if data is None or fmt not in JSON_FORMATS or not _volatile(data):
        return data
    document = _load(data)
    if document is None:
        return data
    return json.dumps(_strip(document), ensure_ascii=False, indent=1).encode("utf-8")
