"""The hook's own state in the bare repo, under ``<GIT_DIR>/gatekeeper/`` (SPEC §11, issue 11 item 8).

- ``intents/<receive-pack pid>-<start>.json``: the deploy intents pre-receive got from the service.
  post-receive of the same ``receive-pack`` process sends their ids, so the service confirms exactly
  those (or voids the ones git did not apply). A file whose ``receive-pack`` is gone (the service
  was down during post-receive, or git applied no update and ran no post-receive) is settled by
  the next hook run on the repo from the refs' real values.
- ``spool/*.json``: refusals the hook made while the service was unreachable; the next hook run
  that reaches the service delivers them, so they reach the log and the exceptions list.

Standard library only, and nothing is read unless the folders exist: a plain topic push pays two
``listdir`` calls on missing folders.
"""

from __future__ import annotations

import os

HOOK_STATE = "gatekeeper"
_SHELLS = ("pre-receive", "post-receive", "sh", "dash", "bash")


def state_dir(name: str, git_dir: str | None = None) -> str:
    return os.path.join(git_dir or os.environ.get("GIT_DIR") or ".", HOOK_STATE, name)


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(command name, parent pid, start time) from /proc, or None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            raw = fh.read()
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2:].split()
    return raw[raw.index("(") + 1:raw.rindex(")")], int(rest[1]), rest[19]


def owner() -> tuple[int, str]:
    """The ``receive-pack`` process running this hook (past a chained hook's shell), and its start time."""
    pid = os.getppid()
    for _ in range(4):
        st = _stat(pid)
        if st is None:
            return pid, ""
        if st[0] not in _SHELLS:
            return pid, st[2]
        pid = st[1]
    return pid, ""


def alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    st = _stat(pid) if start else None
    return st is None or st[2] == start


def _write(folder: str, name: str, record: dict[str, object]) -> str:
    import json

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _read(folder: str) -> list[tuple[str, dict[str, object]]]:
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    except OSError:
        return []
    import json

    out = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            with open(path, encoding="utf-8") as fh:
                record = json.load(fh)
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            out.append((path, record))
    return out


def remove(paths: list[str]) -> None:
    for path in paths:
        try:  # noqa: SIM105 (contextlib is one more import on every push)
            os.unlink(path)
        except OSError:
            pass


def record_intents(intents: list[dict[str, object]]) -> str:
    """pre-receive: remember this push's intents for its post-receive (and, should that fail, for later)."""
    import time

    pid, start = owner()
    return _write(state_dir("intents"), f"{pid}-{start or 0}.json",
                  {"pid": pid, "start": start, "at": time.time(), "intents": intents})


def own_intents() -> tuple[list[str], list[int]]:
    """post-receive: the files and ids pre-receive of this ``receive-pack`` wrote."""
    pid, start = owner()
    paths: list[str] = []
    ids: list[int] = []
    for path, record in _read(state_dir("intents")):
        if record.get("pid") == pid and record.get("start") == start:
            paths.append(path)
            ids.extend(int(i["id"]) for i in record.get("intents", []) if isinstance(i, dict))  # type: ignore[attr-defined]
    return paths, ids


def intent_ids(git_dir: str | None = None) -> tuple[set[int], set[int]]:
    """Ids noted by pushes still running (their post-receive settles them), and by pushes that are gone."""
    live: set[int] = set()
    gone: set[int] = set()
    for _, record in _read(state_dir("intents", git_dir)):
        running = alive(int(record.get("pid") or 0), str(record.get("start") or ""))  # type: ignore[call-overload]
        (live if running else gone).update(
            int(i["id"]) for i in record.get("intents", []) if isinstance(i, dict))  # type: ignore[attr-defined]
    return live, gone


def live_intent_ids() -> set[int]:
    return intent_ids()[0]


def stale_intents() -> tuple[list[str], list[dict[str, object]]]:
    """Files whose ``receive-pack`` is gone, and their intents: to be settled from the refs' real values."""
    paths: list[str] = []
    entries: list[dict[str, object]] = []
    mine = owner()
    for path, record in _read(state_dir("intents")):
        pid, start = int(record.get("pid") or 0), str(record.get("start") or "")  # type: ignore[call-overload]
        if (pid, start) == mine or alive(pid, start):
            continue
        paths.append(path)
        entries.extend(i for i in record.get("intents", []) if isinstance(i, dict))  # type: ignore[attr-defined]
    return paths, entries


def settle_facts(entries: list[dict[str, object]]) -> list[dict[str, object]]:
    """For each intent: the ref's real value, whether it includes the intent's ``new``, the commits."""
    from gatekeeper.gitio import plumbing as git
    from gatekeeper.policy.refs import is_null

    facts: list[dict[str, object]] = []
    for e in entries:
        ref, old, new = str(e.get("ref")), str(e.get("old")), str(e.get("new"))
        out = git.git("rev-parse", "--verify", "-q", ref + "^{commit}", check=False).decode().strip()
        actual = out or None
        if is_null(new):
            reached = actual is None
        else:
            reached = actual is not None and (actual == new or git.is_ancestor(new, actual))
        commits: list[str] = []
        if reached and not is_null(new):
            span = [new] if is_null(old) else [new, f"^{old}"]
            raw = git.git("rev-list", "--first-parent", "--max-count=10000", *span, check=False).decode()
            commits = raw.split()
        facts.append({"id": int(str(e.get("id"))), "actual": actual, "reached": reached, "commits": commits})
    return facts


def spool_refusal(record: dict[str, object]) -> str:
    import time

    return _write(state_dir("spool"), f"{time.time_ns()}-{os.getpid()}.json", record)


def _valid(record: dict[str, object]) -> bool:
    """The shape the service accepts: one bad file must not make every later push's call fail."""
    refs = record.get("refs")
    hexdigits = set("0123456789abcdef")

    def sha(v: object) -> bool:
        return isinstance(v, str) and len(v) in (40, 64) and set(v) <= hexdigits

    return (isinstance(refs, list) and bool(refs) and isinstance(record.get("refused_at"), str)
            and isinstance(record.get("pusher"), str | None) and isinstance(record.get("reason", ""), str)
            and isinstance(record.get("push_options", []), list)
            and all(isinstance(o, str) for o in record.get("push_options", []))  # type: ignore[attr-defined]
            and all(isinstance(r, dict) and isinstance(r.get("ref"), str) and r["ref"]
                    and sha(r.get("old")) and sha(r.get("new")) for r in refs))


def spooled() -> tuple[list[str], list[dict[str, object]]]:
    """Refusals to deliver; a file the service would not accept is set aside as ``*.json.bad``."""
    paths, records = [], []
    for path, record in _read(state_dir("spool")):
        if _valid(record):
            paths.append(path)
            records.append(record)
        else:
            try:  # noqa: SIM105 (contextlib is one more import on every push)
                os.replace(path, path + ".bad")
            except OSError:
                pass
    return paths, records
