"""Findings and the semantic diff of one revision, from the contents the hook sent.

Files with a category ``format`` go through the formats layer; other text files get a short
line diff; binary files are named as such. Nothing here raises on bad content.
"""

from __future__ import annotations

import difflib
from typing import Any

from gatekeeper.actions.payloads import ChangeIn, UpdateIn
from gatekeeper.config import Config
from gatekeeper.formats.base import Context, Finding
from gatekeeper.policy.reasons import Code
from gatekeeper.policy.registry import format_of

MAX_DIFF_LINES = 400


def analyze(config: Config, update: UpdateIn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(findings, semantic_diff) for an update's changes, as JSON-ready dicts."""
    from gatekeeper import formats

    context = _tag_context(update) if update.context else Context()
    findings: list[dict[str, Any]] = []
    diff: list[dict[str, Any]] = []
    for ch in update.changes:
        fmt = format_of(ch.path, config.categories)
        for side in ("old", "new"):
            size = getattr(ch, f"{side}_too_large")
            if size is not None and fmt and side == "new":
                findings.append(Finding(ch.path, "file", "error",
                                        f"file of {size} bytes exceeds the {config.git.max_content_bytes}-byte "
                                        "limit for validated formats", Code.FORMAT_TOO_LARGE).to_dict())
        if fmt and ch.new_too_large is None:
            result = formats.analyze(fmt, ch.path, ch.content("old"), ch.content("new"), context)
            findings.extend(f.to_dict() for f in result.findings)
            diff.append({"path": ch.path, "format": fmt, "changes": [c.to_dict() for c in result.changes]})
        else:
            diff.append({"path": ch.path, "format": None, "changes": _plain(ch)})
    findings.extend(_context_findings(update, context, {c.path for c in update.changes}))
    return findings, diff


def _tag_context(update: UpdateIn) -> Context:
    from gatekeeper import formats

    files = [(f.path, f.format, f.data()) for f in update.context if f.format != "erp-mapping-csv"]
    return formats.tag_context(files)


def _context_findings(update: UpdateIn, context: Context, changed: set[str]) -> list[dict[str, Any]]:
    """Unchanged mapping files still have to point at existing tags after a tag file changes."""
    from gatekeeper import formats

    out: list[dict[str, Any]] = []
    for f in update.context:
        if f.format == "erp-mapping-csv" and f.path not in changed:
            result = formats.analyze(f.format, f.path, None, f.data(), context)
            out.extend(x.to_dict() for x in result.findings if x.severity == "error")
    return out


def _plain(ch: ChangeIn) -> list[dict[str, Any]]:
    if ch.binary:
        return [{"kind": "changed", "element": ch.path, "text": f"binary file {ch.status}",
                 "old": None, "new": None, "financial": False}]
    if ch.old_too_large is not None or ch.new_too_large is not None:
        return [{"kind": "changed", "element": ch.path, "text": f"file {ch.status} (too large to show)",
                 "old": None, "new": None, "financial": False}]
    old = _text(ch.content("old"))
    new = _text(ch.content("new"))
    if not old or not new:  # added or deleted: no need for difflib
        sign, body = ("+", new) if new else ("-", old)
        lines = [f"--- {'/dev/null' if sign == '+' else 'a/' + ch.path}",
                 f"+++ {'b/' + ch.path if sign == '+' else '/dev/null'}", *(sign + x for x in body)]
    else:
        lines = list(difflib.unified_diff(old, new, "a/" + ch.path, "b/" + ch.path, lineterm="", n=2))
    added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
    removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))
    shown = lines[:MAX_DIFF_LINES]
    if len(lines) > MAX_DIFF_LINES:
        shown.append(f"... {len(lines) - MAX_DIFF_LINES} more lines")
    kind = {"added": "added", "deleted": "removed"}.get(ch.status, "changed")
    return [{"kind": kind,
             "element": ch.path, "text": f"{ch.status}: +{added} −{removed} lines", "old": None,
             "new": None, "financial": False, "diff": "\n".join(shown)}]


def _text(data: bytes | None) -> list[str]:
    if data is None:
        return []
    return data.decode("utf-8", "replace").splitlines()
