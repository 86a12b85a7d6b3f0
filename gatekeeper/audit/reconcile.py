"""Reconciliation (SPEC §5, §10): every commit that reached a branch matched to a recorded deployment.

The gate only controls what passes through the hooks. A change written straight into the bare repo
(``git commit-tree`` + ``update-ref`` on the server, hooks removed, a restore from backup) leaves no
``change.deployed`` entry. So the auditor walks the branch's first-parent history with gitpython
and matches each commit to the deployments post-receive logged (``change.deployed`` and
``emergency.deployed`` entries hold old, new and the pushed commits):

- matched: the commit is the new tip or one of the commits of a deployment the gate allowed
  (a CR's, an allowed no-approval change's, or an exact copy); emergency deployments count as
  matched and are flagged;
- unmatched: no such deployment. When it reached the branch is unknown, but it lies between the
  deployments of its nearest matched ancestor and descendant; it is reported when that window
  overlaps the period (a backdated committer date cannot hide it);
- missing: a CR's deployed commit that is no longer in the branch's history (rewritten behind the
  hooks' back).

The installed hook files are also compared with the last ``hooks.attested`` entry for the repo.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlmodel import Session

from gatekeeper.errors import InputError
from gatekeeper.ledger import events
from gatekeeper.policy.categories import is_protected
from gatekeeper.policy.refs import is_null
from gatekeeper.store import log

_NEVER_BEFORE = "0000-01-01T00:00:00.000000Z"
_NEVER_AFTER = "9999-12-31T23:59:59.999999Z"


@dataclass(frozen=True)
class Deployed:
    """One update of the branch recorded by post-receive (a log entry)."""

    seq: int
    at: str
    actor: str
    kind: str
    change_id: int | None
    old: str
    new: str
    commits: tuple[str, ...]
    allowed: bool

    @property
    def emergency(self) -> bool:
        return self.kind == events.EMERGENCY_DEPLOYED


@dataclass(frozen=True)
class Commit:
    sha: str
    committed_at: str
    subject: str
    committer: str = ""


@dataclass(frozen=True)
class Gap:
    """A first-parent commit with no gate-approved deployment; it reached the branch within ``window``."""

    commit: Commit
    window: tuple[str, str]

    def line(self) -> str:
        return f"UNMATCHED {self.commit.sha} {self.commit.committed_at} {self.commit.subject}"


@dataclass(frozen=True)
class Missing:
    deployed: Deployed

    def line(self, ref: str) -> str:
        d = self.deployed
        return f"MISSING {d.new} change {d.change_id} deployed {d.at}: not in the history of {ref}"


@dataclass
class Result:
    repo: str
    ref: str
    start: str
    end: str
    tip: str | None
    matched: list[tuple[Commit, Deployed]] = field(default_factory=list)
    unmatched: list[Gap] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    drift_seq: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unmatched or self.missing or self.drift)

    def lines(self, verbose: bool = False) -> list[str]:
        emergency = [(c, d) for c, d in self.matched if d.emergency]
        free = sum(1 for _, d in self.matched if d.change_id is None and not d.emergency)
        out = [f"reconcile {self.repo} {self.ref} {self.start} .. {self.end}: "
               f"{len(self.matched) + len(self.unmatched)} commit(s) reached the branch in the period, "
               f"{len(self.matched)} matched ({len(emergency)} emergency, {free} without a change request), "
               f"{len(self.unmatched)} unmatched, {len(self.missing)} deployed commit(s) missing, "
               f"{len(self.drift)} hook drift finding(s)"]
        out.extend(f"NOTE {n}" for n in self.notes)
        for c, d in self.matched:
            if d.emergency:
                out.append(f"EMERGENCY {c.sha} change {d.change_id} deployed {d.at} by {d.actor} "
                           f"(log seq {d.seq})")
            elif verbose:
                what = f"change {d.change_id}" if d.change_id is not None else "no approval needed"
                out.append(f"MATCHED {c.sha} {what} deployed {d.at} (log seq {d.seq})")
        out.extend(g.line() for g in self.unmatched)
        out.extend(m.line(self.ref) for m in self.missing)
        out.extend(f"DRIFT {line}" for line in self.drift)
        return out

    def exceptions(self, now: str) -> Iterator[dict[str, Any]]:
        """Rows for ``exceptions.csv`` (kinds ``reconcile-gap`` and ``hook-drift``)."""
        for g in self.unmatched:
            lo, hi = g.window
            when = "" if (lo, hi) == (_NEVER_BEFORE, _NEVER_AFTER) else (
                f" (after {lo})" if hi == _NEVER_AFTER else f" (before {hi})" if lo == _NEVER_BEFORE
                else f" (between {lo} and {hi})")
            yield {"kind": "reconcile-gap", "at": g.commit.committed_at, "actor": g.commit.committer,
                   "repo": self.repo, "ref": self.ref, "change_id": None, "log_seq": None,
                   "detail": f"{g.line()}: no gate-approved deployment recorded{when}"}
        for m in self.missing:
            d = m.deployed
            yield {"kind": "reconcile-gap", "at": d.at, "actor": d.actor, "repo": self.repo, "ref": self.ref,
                   "change_id": d.change_id, "log_seq": d.seq, "detail": m.line(self.ref)}
        for line in self.drift:
            yield {"kind": "hook-drift", "at": now, "actor": None, "repo": self.repo, "ref": None,
                   "change_id": None, "log_seq": self.drift_seq, "detail": line}


def match(history: Sequence[Commit], deployments: Sequence[Deployed], start: str, end: str,
          ) -> tuple[list[tuple[Commit, Deployed]], list[Gap]]:
    """Pure core: ``history`` is the first-parent chain newest first, ``deployments`` in log order."""
    cover: dict[str, Deployed] = {}
    for d in sorted(deployments, key=lambda d: d.seq):
        if not d.allowed:
            continue  # recorded, but the gate did not allow it: not a control, so not a match
        for sha in (d.new, *d.commits):
            cover.setdefault(sha, d)  # the first deployment that brought it is when it arrived
    found = [cover.get(c.sha) for c in history]
    matched: list[tuple[Commit, Deployed]] = []
    unmatched: list[Gap] = []
    upper = _NEVER_AFTER
    later: list[str] = []  # per index: the arrival of the nearest matched newer commit
    for hit in found:
        later.append(upper)
        if hit is not None:
            upper = hit.at
    lower = _NEVER_BEFORE
    for i in range(len(history) - 1, -1, -1):  # oldest first, carrying the nearest matched older arrival
        c, hit = history[i], found[i]
        if hit is not None:
            if start <= hit.at < end:
                matched.append((c, hit))
            lower = hit.at
        elif lower < end and later[i] > start:
            unmatched.append(Gap(c, (lower, later[i])))
    matched.reverse()
    unmatched.reverse()
    return matched, unmatched


def deployments(session: Session, repo: str, ref: str) -> list[Deployed]:
    """The branch's deployments as post-receive logged them (the hash-chained record, not a table)."""
    out = []
    for e in log.of_kinds(session, [events.CHANGE_DEPLOYED, events.EMERGENCY_DEPLOYED], like=_repo_like(repo),
                          batch=5000):
        d = (events.EmergencyDeployed if e.kind == events.EMERGENCY_DEPLOYED else events.ChangeDeployed
             ).from_payload(e.payload)
        if d.repo != repo or d.ref != ref:
            continue
        allowed = isinstance(d, events.EmergencyDeployed) or d.change_id is not None or d.allowed_by_gate
        out.append(Deployed(seq=e.seq, at=e.ts, actor=e.actor, kind=e.kind, change_id=d.change_id,
                            old=d.old, new=d.new, commits=tuple(d.commits), allowed=allowed))
    return out


def _repo_like(repo: str) -> str:
    """A ``LIKE`` pre-filter for payloads naming ``repo`` (the parsed field decides)."""
    return f'%"repo":{json.dumps(repo, ensure_ascii=False)}%'


def last_attestation(session: Session, repo: str) -> tuple[int, events.HooksAttested] | None:
    for e in log.of_kinds(session, [events.HOOKS_ATTESTED], like=_repo_like(repo), newest_first=True):
        attested = events.HooksAttested.from_payload(e.payload)
        if attested.repo == repo:
            return e.seq, attested
    return None


def attested_repos(session: Session) -> dict[str, tuple[int, events.HooksAttested]]:
    """Each repo's latest ``hooks.attested`` entry (it names the bare repo's path)."""
    out: dict[str, tuple[int, events.HooksAttested]] = {}
    for e in log.of_kinds(session, [events.HOOKS_ATTESTED]):
        attested = events.HooksAttested.from_payload(e.payload)
        out[attested.repo] = (e.seq, attested)
    return out


@contextmanager
def open_repo(location: str) -> Iterator[tuple[Any, Path | None]]:
    """A gitpython Repo for a local path, or a temporary mirror clone of a URL (then no local path)."""
    import git

    path = Path(location)
    try:
        if path.exists():
            yield git.Repo(path), path
            return
        with tempfile.TemporaryDirectory(prefix="gatekeeper-reconcile-") as tmp:
            yield git.Repo.clone_from(location, tmp, mirror=True), None
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise InputError(f"{location} is not a git repository") from exc
    except git.GitCommandError as exc:
        raise InputError(f"cannot read {location}: {str(exc.stderr).strip() or exc}") from exc


def repo_name(gitrepo: Any, given: str | None, known: Sequence[str]) -> str:
    """``--name``, else the bare repo's ``gatekeeper.repo`` setting, else the policy's only repo."""
    if given:
        return given
    try:
        name = str(gitrepo.git.config("--get", "gatekeeper.repo")).strip()
    except Exception:
        name = ""
    if name:
        return name
    if len(known) == 1:
        return known[0]
    raise InputError("cannot tell which policy repo this is; pass --name (one of: " + ", ".join(known) + ")")


def first_parent(gitrepo: Any, ref: str) -> tuple[str | None, list[Commit]]:
    import git

    try:
        tip = gitrepo.commit(ref)
    except (git.BadName, ValueError, git.GitCommandError):
        return None, []
    history = []
    for c in gitrepo.iter_commits(tip.hexsha, first_parent=True):
        when = c.committed_datetime.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        history.append(Commit(c.hexsha, when, c.summary if isinstance(c.summary, str) else c.summary.decode(),
                              c.committer.email or ""))
    return tip.hexsha, history


def reconcile(session: Session, gitrepo: Any, local: Path | None, name: str, branch: str, start: str,
              end: str, *, drift: bool = True) -> Result:
    """Match the branch's first-parent history in [start, end) to the logged deployments."""
    ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    tip, history = first_parent(gitrepo, ref)
    result = Result(repo=name, ref=ref, start=start, end=end, tip=tip)
    deployed = deployments(session, name, ref)
    if tip is None:
        result.notes.append(f"{ref} does not exist in the repository")
    result.matched, result.unmatched = match(history, deployed, start, end)
    for d in deployed:
        if d.change_id is None or not start <= d.at < end or is_null(d.new):
            continue
        if tip is None or not _reachable(gitrepo, d.new, tip):
            result.missing.append(Missing(d))
    if drift:
        check_drift(session, local, name, result)
    return result


def settle_intents(services: Any, gitrepo: Any, local: Path | None, name: str,
                   grace_seconds: float = 120.0) -> list[str]:
    """Settle the repo's open (and unproven) deploy intents from the refs' reflogs (SPEC §11, issue 22
    item 1); one line each.

    An intent a running push noted in the repo is left to that push; one noted by a push that is
    gone is settled now; one the repo has no note of, once it is ``grace_seconds`` old (until then
    it may belong to a push git is still applying). A repository read from a URL (a clone) has no
    reflog of the server's refs: its intents stay unproven.
    """
    from datetime import datetime, timedelta

    from gatekeeper.actions.settle import settle_from_facts
    from gatekeeper.gitio.spool import intent_ids
    from gatekeeper.store import changes as q

    repo = services.config.repo(name)
    if repo is None:
        return []
    live, gone = intent_ids(str(local)) if local is not None else (set(), set())
    cutoff = (datetime.now(UTC) - timedelta(seconds=grace_seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with services.store.write() as session:
        facts = [_settle_fact(gitrepo, local, i.id or 0, i.ref, i.old, i.new)
                 for i in q.open_intents(session, name, unproven=True)
                 if i.id not in live and (i.id in gone or i.decided_at < cutoff)]
        return settle_from_facts(services, session, repo, facts, "reconcile") if facts else []


def _settle_fact(gitrepo: Any, local: Path | None, intent_id: int, ref: str, old: str, new: str) -> Any:
    import git

    from gatekeeper.actions.payloads import SettleIn
    from gatekeeper.gitio import reflog

    try:
        actual: str | None = gitrepo.git.rev_parse("--verify", "-q", ref).strip() or None
    except (git.BadName, ValueError, git.GitCommandError):
        actual = None
    seen = (reflog.evidence(str(local), ref, old, new) if local is not None
            else {"reflog": False, "first_at": None, "first_created": False, "matches": []})
    commits: list[str] = []
    if seen["matches"] and not is_null(new) and ref.startswith("refs/heads/"):
        span = [new] if is_null(old) else [new, f"^{old}"]
        commits = str(gitrepo.git.rev_list("--first-parent", "--max-count=10000", *span)).split()
    return SettleIn.model_validate({"id": intent_id, "ref": ref, "old": old, "new": new, "actual": actual, **seen,
                                    "commits": commits})


def _reachable(gitrepo: Any, sha: str, tip: str) -> bool:
    import git

    try:
        return bool(gitrepo.is_ancestor(sha, tip))
    except (git.GitCommandError, ValueError):
        return False


def check_drift(session: Session, local: Path | None, name: str, result: Result) -> None:
    from gatekeeper.gitio import install

    if local is None:
        result.notes.append("hook drift not checked: the repository is not a local bare repo")
        return
    attested = last_attestation(session, name)
    if attested is None:
        result.drift.append(f"no hooks.attested entry for {name} in the log: the hooks were never attested")
        return
    result.drift_seq = attested[0]
    result.drift.extend(install.drift(local, name, attested[1]))


def reconcile_all(services: Any, session: Any, start: str, end: str
                  ) -> tuple[list[Result], list[dict[str, Any]]]:
    """Reconcile every protected branch of every repo whose attested bare repo is reachable from here."""
    import git

    results: list[Result] = []
    notes: list[dict[str, Any]] = []
    for name, (seq, attested) in sorted(attested_repos(session).items()):
        repo_cfg = services.config.repo(name)
        if repo_cfg is None:
            continue
        path = Path(attested.path)
        try:
            if not path.is_dir():
                raise InputError("no such folder")
            with open_repo(str(path)) as (gitrepo, local):
                branches = sorted(h.name for h in gitrepo.heads if is_protected(h.name, repo_cfg.protected))
                for i, branch in enumerate(branches):
                    results.append(reconcile(session, gitrepo, local, name, branch, start, end,
                                                       drift=i == 0))
                if not branches:
                    r = Result(repo=name, ref="", start=start, end=end, tip=None)
                    check_drift(session, local, name, r)
                    results.append(r)
        except (InputError, git.GitCommandError) as exc:
            reason = exc.message if isinstance(exc, InputError) else str(exc.stderr).strip()
            notes.append({"kind": "reconcile-gap", "at": log.utc_now(), "actor": None, "repo": name,
                          "ref": None, "change_id": None, "log_seq": seq,
                          "detail": f"not reconciled: the bare repo attested at {path} cannot be read from "
                                    f"where this pack was built ({reason}); run `gatekeeper audit "
                                    "reconcile` on the git server"})
    return results, notes
