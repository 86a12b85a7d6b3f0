"""The formats layer (PURE): validation and semantic diff of OT configuration files.

A category's ``format`` key (SPEC §4) names one of :data:`FORMAT_NAMES`; the rest of the system
calls only :func:`analyze` (findings + semantic changes for one file) and :func:`tag_index` (the
tag paths the repo's tag configurations define, for the ERP mapping's cross-file check). Bad
content never raises: it becomes an ``error`` finding, so a broken file cannot reach production.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

from gatekeeper.errors import ConfigError
from gatekeeper.formats import batchml, erp_mapping, ignition, kepware, plcopen
from gatekeeper.formats._common import NO_CONTEXT, ContentError, error
from gatekeeper.formats._raw import uninterpreted
from gatekeeper.formats.base import Analysis, Context, Finding, SemanticChange, TagInfo
from gatekeeper.policy.registry import CROSS_FILE_FORMATS, FORMAT_NAMES, TAG_FORMATS

__all__ = ["CROSS_FILE_FORMATS", "FORMAT_NAMES", "TAG_FORMATS", "Analysis", "Context", "Finding",
           "SemanticChange", "TagInfo", "analyze", "tag_catalog", "tag_context", "tag_index", "validate"]

ADDED_LIMIT = 200
"""An added or removed file lists at most this many elements, then one summary line."""
CHANGE_LIMIT = 1000
"""A changed file lists at most this many changes, then one summary line with the counts."""
FINDING_LIMIT = 500
"""A file reports at most this many findings, then one summary finding (an error if any was)."""


class _Format(Protocol):
    def parse(self, data: bytes, path: str = ...) -> Any: ...

    def check(self, path: str, model: Any, context: Context = ...) -> list[Finding]: ...

    def changes(self, old: Any, new: Any) -> list[SemanticChange]: ...


# A module may also define ``check_change(path, old_model, new_model) -> list[Finding]``: rules on the
# change itself (a unit changed while its conversion factor stayed), run when both sides parse.


_FORMATS: dict[str, _Format] = {"batchml": batchml, "ignition-tags": ignition, "kepware-project": kepware,
                                "plcopen-xml": plcopen, "erp-mapping-csv": erp_mapping}


def analyze(format_name: str, path: str, old: bytes | None, new: bytes | None,
            context: Context = NO_CONTEXT) -> Analysis:
    """Validate ``new`` (``None``: file deleted, nothing to validate) and diff ``old`` → ``new``
    (``old`` ``None``: file added). Raises only :class:`ConfigError` for an unknown format name."""
    module = _FORMATS.get(format_name)
    if module is None:
        raise ConfigError(f"unknown format '{format_name}' (known: {', '.join(FORMAT_NAMES)})", key="format")
    try:
        return _analyze(module, path, old, new, context)
    except Exception as exc:  # fail closed: a checker bug blocks this file, it never breaks the push
        return Analysis(findings=(error(path, "line 1", f"internal error while checking {format_name} "
                                        f"({type(exc).__name__}: {exc}); the file cannot be approved until "
                                        "this is fixed"),))


def validate(format_name: str, path: str, data: bytes, context: Context = NO_CONTEXT) -> tuple[Finding, ...]:
    """The findings of one file without a diff (``gatekeeper check``): what :func:`analyze` reports for
    ``new``, without listing its elements as added. Raises only :class:`ConfigError` (unknown format)."""
    module = _FORMATS.get(format_name)
    if module is None:
        raise ConfigError(f"unknown format '{format_name}' (known: {', '.join(FORMAT_NAMES)})", key="format")
    try:
        try:
            model = module.parse(data, path)
        except ContentError as exc:
            return (error(path, exc.location, exc.message),)
        return tuple(_capped_findings(list(module.check(path, model, context))))
    except Exception as exc:  # fail closed, as analyze does
        return (error(path, "line 1", f"internal error while checking {format_name} ({type(exc).__name__}: "
                      f"{exc}); the file cannot be approved until this is fixed"),)


def _analyze(module: _Format, path: str, old: bytes | None, new: bytes | None, context: Context) -> Analysis:
    findings: list[Finding] = []
    new_model: Any = None
    if new is not None:
        try:
            new_model = module.parse(new, path)
        except ContentError as exc:
            findings.append(error(path, exc.location, exc.message))
        else:
            findings.extend(module.check(path, new_model, context))
    findings = _capped_findings(findings)
    if old is not None and old == new:
        return Analysis(tuple(findings))
    old_model: Any = None
    old_problem = ""
    if old is not None:
        try:
            old_model = module.parse(old, path)
        except ContentError as exc:
            old_problem = exc.message
    changes: list[SemanticChange]
    if new is not None and new_model is None:
        changes = [SemanticChange("changed", "(file)", "the new version cannot be read, so there is no "
                                  "semantic diff (see the findings)")]
    elif old is not None and old_model is None and new_model is None:
        changes = [SemanticChange("removed", "(file)", f"file removed (its old content could not be read: "
                                  f"{old_problem})")]
    elif old is not None and old_model is None:
        changes = [SemanticChange("changed", "(file)", f"the previous version could not be read "
                                  f"({old_problem}); every element of the new version is listed as added"),
                   *_capped(module.changes(None, new_model), ADDED_LIMIT)]
    elif old is None or new is None:
        changes = _capped(module.changes(old_model, new_model), ADDED_LIMIT)
    else:
        changes = module.changes(old_model, new_model)
        if not changes and old != new:  # the safety net: what the model does not explain is still shown
            changes = _uninterpreted(module, path, old, new)
        check_change = getattr(module, "check_change", None)
        if check_change is not None:
            findings.extend(check_change(path, old_model, new_model))
        changes = _capped(changes, CHANGE_LIMIT)
    return Analysis(tuple(findings), tuple(changes))


def _uninterpreted(module: _Format, path: str, old: bytes | None, new: bytes | None) -> list[SemanticChange]:
    """XML and JSON formats only: the CSV formats compare every cell by row key and column name, and read
    some spellings as what they mean (``1,03`` in a ``;`` file is 1.03), so their bytes may differ with
    nothing to explain."""
    if old is None or new is None or module is erp_mapping or path.lower().endswith(".csv"):
        return []
    kind = "xml" if module in (batchml, plcopen) else "json"
    try:
        return uninterpreted(old, new, kind)
    except ContentError:
        return [SemanticChange("changed", "(file)", "uninterpreted change: the file changed in a way this "
                               "format does not read, and it cannot be compared value by value")]


def _capped(changes: list[SemanticChange], limit: int) -> list[SemanticChange]:
    """Keep the first ``limit`` changes and summarise the rest in one line (financial if any was)."""
    if len(changes) <= limit:
        return changes
    rest = changes[limit:]
    counts = Counter(change.kind for change in rest)
    detail = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    return [*changes[:limit], SemanticChange("changed", "(summary)", f"… and {len(rest)} more changes not "
                                             f"listed ({detail})", financial=any(c.financial for c in rest))]


def _capped_findings(findings: list[Finding]) -> list[Finding]:
    if len(findings) <= FINDING_LIMIT:
        return findings
    rest = findings[FINDING_LIMIT:]
    errors = sum(1 for finding in rest if finding.severity == "error")
    summary = Finding(rest[0].path, rest[0].location, "error" if errors else "warning",
                      f"… and {len(rest)} more findings not listed ({errors} errors, "
                      f"{len(rest) - errors} warnings)")
    return [*findings[:FINDING_LIMIT], summary]


def tag_index(files: Iterable[tuple[str, str, bytes]]) -> frozenset[str]:
    """All tag paths defined by ``(path, format_name, content)`` tag configuration files.

    Ignition: ``Folder/.../Tag`` (provider left out, UDT members included); Kepware:
    ``Channel.Device[.Group…].Tag``, Project Maker channel files joined with their tag CSVs, so all
    of a repo's Kepware files must be passed together. Unreadable files are skipped.
    """
    paths: set[str] = set()
    kepware_files: list[tuple[str, bytes]] = []
    for path, format_name, content in files:
        if format_name == "ignition-tags":
            try:
                paths.update(ignition.tag_paths(ignition.parse(content, path)))
            except Exception:  # noqa: S112 - skipped; the mapping check then names the missing tags
                continue
        elif format_name == "kepware-project":
            kepware_files.append((path, content))
    paths.update(kepware.tag_paths(kepware_files))
    return frozenset(paths)


def tag_catalog(files: Iterable[tuple[str, str, bytes]]) -> dict[str, TagInfo]:
    """Tag path → :class:`TagInfo` (defining systems, data type, engineering unit) for the same
    input as :func:`tag_index`; where both systems define a path, both are named."""
    facts: dict[str, list[tuple[str, str, str]]] = {}
    kepware_files: list[tuple[str, bytes]] = []
    for path, format_name, content in files:
        if format_name == "ignition-tags":
            try:
                found = ignition.tag_facts(ignition.parse(content, path))
            except Exception:  # noqa: S112 - skipped, as in tag_index
                continue
            for tag, (data_type, unit) in found.items():
                facts.setdefault(tag, []).append(("ignition", data_type, unit))
        elif format_name == "kepware-project":
            kepware_files.append((path, content))
    for tag, (data_type, unit) in kepware.tag_facts(kepware_files).items():
        facts.setdefault(tag, []).append(("kepware", data_type, unit))
    return {tag: TagInfo(frozenset(system for system, _, _ in found),
                         next((t for _, t, _ in found if t), ""), next((u for _, _, u in found if u), ""))
            for tag, found in facts.items()}


def tag_context(files: Iterable[tuple[str, str, bytes]]) -> Context:
    """The cross-file :class:`Context` of a repo's tag configuration files (paths and facts)."""
    files = list(files)
    catalog = tag_catalog(files)
    drivers = kepware.drivers([(path, data) for path, name, data in files if name == "kepware-project"])
    return Context(tag_paths=frozenset(catalog), tags=catalog, drivers=drivers)

