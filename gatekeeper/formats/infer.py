"""Which format a file is, from its content, for ``gatekeeper diff`` run without a policy (pure).

The policy's categories decide where one is given (SPEC §4); this only answers when none is, from
what every format's files start with: a PLCopen ``<project>``, a BatchML/B2MML recipe root, an
Ignition tag export (``tagType``/``tags``), Kepware Config API keys or a Project Maker channel, an
ERP mapping header or a Kepware tag CSV header.
"""

from __future__ import annotations

import json
import re

from gatekeeper.formats.batchml import ROOTS

_ROOT = re.compile(rb"<(?:[\w.-]+:)?([\w.-]+)[\s>/]")
_PROLOG = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?[^>]*\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>\s*)*",
                     re.S)


def infer_format(path: str, data: bytes) -> str | None:
    """The format name ``data`` is written in, ``None`` when it looks like none of them."""
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = data.decode("utf-16", "replace")[:20000].encode()
    body = _PROLOG.sub(b"", head, count=1)
    if body.startswith(b"<"):
        match = _ROOT.match(body)
        root = match.group(1).decode("ascii", "replace") if match else ""
        if root == "project":
            return "plcopen-xml"
        return "batchml" if root in ROOTS else None
    text = head.decode("utf-8-sig", "replace")
    if text.lstrip().startswith(("{", "[")):
        return _json_format(data)
    first = text.lstrip("\r\n").split("\n", 1)[0]
    if "mapping_id" in first and "tag_path" in first:
        return "erp-mapping-csv"
    if "Tag Name" in first and "Address" in first:
        return "kepware-project"
    return None


def _json_format(data: bytes) -> str | None:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    sample = document[0] if isinstance(document, list) and document else document
    if not isinstance(sample, dict):
        return None
    keys = set(sample)
    if "project" in keys or "channels" in keys or {"deviceName", "tagPath"} <= keys or \
            any(key.startswith(("servermain.", "common.ALLTYPES")) for key in keys):
        return "kepware-project"
    if "tagType" in keys or "tags" in keys:
        return "ignition-tags"
    return None
