"""``drift check``: compare each live source with the approved content and record the outcome.

(1) the approved head of each repo's protected branch, and the approved files of every source;
(2) the live versions, fetched in parallel (each with its own time and size limits);
(3) per source, the semantic comparison; a drift that equals an approved, not yet merged CR says so;
(4) per source, one write transaction: ``drift.checked`` always, ``drift.detected`` when a drift
    appears or its diff changes, ``drift.cleared`` when the source is back in line, ``drift.error``
    whenever it cannot be read; and the source's row in ``drift_state`` (the ``/drift`` page).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from gatekeeper.actions.context import Services
from gatekeeper.config import DriftSource
from gatekeeper.drift import DRIFT, ERROR, IN_LINE
from gatekeeper.drift.compare import compare
from gatekeeper.drift.expected import Approved, approved, blob_contents
from gatekeeper.drift.fetch import Live, SourceError, fetch
from gatekeeper.errors import GatekeeperError, InputError
from gatekeeper.ledger.events import DriftChecked, DriftCleared, DriftDetected, DriftError
from gatekeeper.policy.refs import is_null
from gatekeeper.policy.states import State
from gatekeeper.store import log
from gatekeeper.store.changes import current_revision, files
from gatekeeper.store.changes import dumps as json_dumps
from gatekeeper.store.tables import ChangeRequest, DriftState

FETCH_THREADS = 8
EXIT_CODES = {IN_LINE: 0, DRIFT: 1, ERROR: 2}


@dataclass
class Result:
    source: DriftSource
    state: str
    summary: str
    live_sha256: str = ""
    expected_commit: str = ""
    diff: list[dict[str, Any]] = field(default_factory=list)
    matches_change: int | None = None
    log_seq: int = 0

    def line(self) -> str:
        """``<name>: in line|drift|error: <summary>`` (SPEC §11)."""
        return f"{self.source.name}: {self.state}: {self.summary}"


def exit_code(results: Sequence[Result]) -> int:
    """0 all in line, 1 any drift, 2 any source error (2 wins)."""
    return max((EXIT_CODES[r.state] for r in results), default=0)


def select_sources(services: Services, repo: str | None = None, source: str | None = None) -> list[DriftSource]:
    cfg = services.config
    if repo is not None and cfg.repo(repo) is None:
        raise InputError(f"unknown repo {repo!r} (known: {', '.join(r.name for r in cfg.repos)})")
    chosen = [s for s in cfg.drift.sources if (repo is None or s.repo == repo) and (source is None or s.name == source)]
    if source is not None and not chosen:
        names = ", ".join(s.name for s in cfg.drift.sources) or "none configured"
        where = f" in repo {repo}" if repo else ""
        raise InputError(f"unknown drift source {source!r}{where} (known: {names})")
    if not chosen:
        raise InputError("no [[drift.sources]] configured" + (f" for repo {repo}" if repo else ""))
    return chosen


def run_checks(services: Services, repo: str | None = None, source: str | None = None, *,
               trigger: str = "cli", actor: str = log.SYSTEM) -> list[Result]:
    """Check the chosen sources now; ``actor``: who asked (a person from ``/drift``, else the service)."""
    sources = select_sources(services, repo, source)
    limits = services.config.drift
    # (1) approved content, one git read per repo
    heads: dict[str, Approved | SourceError] = {}
    for name in dict.fromkeys(s.repo for s in sources):
        repo_cfg = services.config.repo(name)
        assert repo_cfg is not None  # the config refuses sources naming unknown repos
        try:
            heads[name] = approved(repo_cfg)
        except GatekeeperError as exc:
            heads[name] = exc if isinstance(exc, SourceError) else SourceError(exc.message)
    expected: dict[str, dict[str, bytes] | SourceError] = {}
    for s in sources:
        head = heads[s.repo]
        if isinstance(head, SourceError):
            expected[s.name] = head
            continue
        try:
            ids = head.under(s.path)
            head.load(ids.values(), limits.max_bytes)
            expected[s.name] = {name: head.blobs[blob] for name, blob in ids.items()}
        except GatekeeperError as exc:
            expected[s.name] = SourceError(exc.message)

    # (2) live versions, in parallel (network and subprocess waits)
    def live_of(s: DriftSource) -> Live | SourceError:
        head, want = heads[s.repo], expected[s.name]
        if isinstance(head, SourceError) or isinstance(want, SourceError):
            return SourceError("not fetched")
        try:
            return fetch(s, limits, head.is_folder(s.path), cwd=services.config.path.parent)
        except SourceError as exc:
            return exc
        except Exception as exc:  # fail closed: an unexpected failure is an error, never "in line"
            return SourceError(f"{type(exc).__name__}: {exc}")

    # (3) compared as they arrive, while later sources are still being fetched
    with ThreadPoolExecutor(max_workers=min(FETCH_THREADS, len(sources))) as pool:
        results = [_evaluate(services, s, heads[s.repo], expected[s.name], live)
                   for s, live in zip(sources, pool.map(live_of, sources), strict=True)]
    # (4) one transaction for the run: every check and transition is logged, or none
    record(services, results, trigger, actor)
    return results


def _evaluate(services: Services, s: DriftSource, head: Approved | SourceError,
              want: dict[str, bytes] | SourceError, live: Live | SourceError) -> Result:
    for failure in (head, want, live):
        if isinstance(failure, SourceError):
            return Result(s, ERROR, failure.message)
    assert isinstance(head, Approved) and isinstance(want, dict) and isinstance(live, Live)
    folder = head.is_folder(s.path)
    got = live.files if folder else {"": live.data or b""}
    sha = live_sha256(got)
    try:
        comparison = compare(s.format, s.path, want, got)
    except GatekeeperError as exc:
        return Result(s, ERROR, exc.message, sha, head.commit)
    if comparison.unreadable:
        return Result(s, ERROR, f"live export cannot be read as {s.format}: {comparison.unreadable[0]}", sha,
                      head.commit)
    if comparison.in_line:
        return Result(s, IN_LINE, f"matches {head.branch} at {head.commit[:12]}", sha, head.commit)
    summary = comparison.summary()
    if not want:
        summary = f"{s.path} is not on {head.branch}: nothing was approved for it; {summary}"
    cr = matching_change(services, s, head, got)
    if cr is not None:
        summary = f"live matches CR {cr}, approved, not yet merged; {summary}"
    return Result(s, DRIFT, summary, sha, head.commit, comparison.diff, cr)


def live_sha256(files_: dict[str, bytes]) -> str:
    """SHA-256 of the live document; of a folder, over its sorted ``<sha256>  <name>`` lines."""
    if set(files_) == {""}:
        return hashlib.sha256(files_[""]).hexdigest()
    lines = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files_.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def matching_change(services: Services, s: DriftSource, head: Approved, got: dict[str, bytes]) -> int | None:
    """The newest approved, not yet deployed CR for the branch whose content equals the live one."""
    limit = services.config.drift.max_bytes
    with services.store.read() as session:
        crs = session.exec(select(ChangeRequest).where(ChangeRequest.repo == s.repo,
                                                       ChangeRequest.target == head.branch,
                                                       ChangeRequest.state == State.APPROVED.value)
                           .order_by(col(ChangeRequest.id).desc())).all()
        candidates = [(cr.id, files(session, current_revision(session, cr).id or 0)) for cr in crs]
    for cr_id, changed in candidates:
        prefix = s.path + "/"
        mine = [f for f in changed if f.path == s.path or f.path.startswith(prefix)]
        if not mine or cr_id is None:
            continue
        ids = dict(head.under(s.path))
        for f in mine:
            name = "" if f.path == s.path else f.path[len(prefix):]
            if is_null(f.new_blob):
                ids.pop(name, None)
            else:
                ids[name] = f.new_blob
        try:
            head.load([b for b in ids.values() if b not in head.blobs and b in head.files.values()], limit)
            extra = blob_contents(head.git_dir, [b for b in ids.values() if b not in head.blobs], limit)
        except GatekeeperError:
            continue  # the CR's objects are gone (topic deleted and pruned): it cannot be matched
        blobs = {**head.blobs, **extra}
        if any(b not in blobs for b in ids.values()):
            continue
        if compare(s.format, s.path, {n: blobs[b] for n, b in ids.items()}, got).in_line:
            return cr_id
    return None


def record(services: Services, results: Sequence[Result], trigger: str = "cli", actor: str = log.SYSTEM) -> None:
    """Log each check (and any transition) and update the sources' states, in one transaction."""
    with services.store.write() as session:
        for result in results:
            _record(session, result, trigger, actor)


def _record(session: Session, result: Result, trigger: str, actor: str = log.SYSTEM) -> None:
    s = result.source
    where = {"source": s.name, "repo": s.repo, "path": s.path}
    diff_text = json_dumps(result.diff)
    prev = session.get(DriftState, s.name)
    entry = log.append(session, DriftChecked(
        **where, format=s.format, live_sha256=result.live_sha256, result=result.state, summary=result.summary,
        expected_commit=result.expected_commit, trigger=trigger), actor)
    result.log_seq = entry.seq
    now = entry.ts
    if result.state == DRIFT and (prev is None or prev.state != DRIFT or prev.diff != diff_text):
        log.append(session, DriftDetected(
            **where, live_sha256=result.live_sha256, expected_commit=result.expected_commit, summary=result.summary,
            matches_change=result.matches_change, diff=tuple(result.diff),
            text="\n".join(f"{d['path']}: {c['text']}" for d in result.diff for c in d["changes"])),
            change_ids=[result.matches_change] if result.matches_change else [])
    elif result.state == IN_LINE and prev is not None and prev.state != IN_LINE:
        log.append(session, DriftCleared(**where, live_sha256=result.live_sha256,
                                         expected_commit=result.expected_commit, was=prev.state, since=prev.since,
                                         previous=prev.summary))
    elif result.state == ERROR:
        log.append(session, DriftError(**where, error=result.summary))
    _save(session, prev, result, diff_text, now)


def _save(session: Session, prev: DriftState | None, result: Result, diff_text: str, now: str) -> None:
    s = result.source
    since = prev.since if prev is not None and prev.state == result.state else now
    row = prev or DriftState(source=s.name, repo=s.repo, path=s.path, state=result.state, checked_at=now,
                             since=since, log_seq=result.log_seq)
    row.repo, row.path, row.state, row.summary = s.repo, s.path, result.state, result.summary
    row.diff, row.live_sha256, row.expected_commit = diff_text, result.live_sha256, result.expected_commit
    row.checked_at, row.since, row.log_seq = now, since, result.log_seq
    session.add(row)


def states(services: Services) -> list[dict[str, Any]]:
    """Each configured source with its last check (``None`` before the first), for ``/drift``."""
    with services.store.read() as session:
        rows = {r.source: r for r in session.exec(select(DriftState)).all()}
    out = []
    for s in services.config.drift.sources:
        row = rows.get(s.name)
        how = s.url or " ".join(s.command) or str(s.file)
        out.append({"name": s.name, "repo": s.repo, "path": s.path, "format": s.format, "how": how,
                    "kind": "url" if s.url else "command" if s.command else "file",
                    "state": row.state if row else None, "summary": row.summary if row else "",
                    "checked_at": row.checked_at if row else None, "since": row.since if row else None,
                    "diff": json.loads(row.diff) if row else [], "log_seq": row.log_seq if row else None,
                    "live_sha256": row.live_sha256 if row else ""})
    return out
