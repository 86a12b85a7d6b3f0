"""Drift detection (issue 15, SPEC §11): is what the plant runs what was approved?

Each ``[[drift.sources]]`` names a repo path and how to read its live version (an HTTP GET, a
command's stdout, or a file drop). A check compares the live export semantically with the approved
content at the head of the repo's protected branch — with the same format modules as change
requests, so key order, whitespace and volatile fields do not count — and logs ``drift.checked``
every time, ``drift.detected`` when a drift appears (or its diff changes), ``drift.cleared`` when
the plant is back in line, and ``drift.error`` whenever a source cannot be read (never "no drift").

Modules: ``fetch`` (reading live sources with limits), ``expected`` (approved content from git),
``compare`` (the semantic comparison, pure), ``check`` (the use case), ``schedule`` (once across
workers and hosts, inside the service). The log kinds are typed in ``ledger.events.drift``.
"""

from __future__ import annotations

IN_LINE, DRIFT, ERROR = "in line", "drift", "error"
STATES = (IN_LINE, DRIFT, ERROR)
