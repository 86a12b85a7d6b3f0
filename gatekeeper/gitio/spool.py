"""The hook's own state in the bare repo, under ``<GIT_DIR>/gatekeeper/`` (SPEC §11, issue 11 item 8).

- ``intents/<receive-pack pid>-<start>.json``: the deploy intents pre-receive got from the service.
  post-receive of the same ``receive-pack`` process sends their ids, so the service confirms exactly
  those (or voids the ones git did not apply). A file whose ``receive-pack`` is gone (the service
  was down during post-receive, or git applied no update and ran no post-receive) is settled by
  the next hook run on the repo from the ref's reflog (``reflog``).
- ``spool/*.json``: refusals the hook made while the service was unreachable; the next hook run
  that reaches the service delivers them, so they reach the log and the exceptions list.

Every file is sealed (issue 22 item 2): ``{"kind", "repo", "record", "mac"}``, the MAC an HMAC-SHA256
made with the hook token over the kind, the repo and the record's canonical JSON (``seal``). The
service checks it (``verify``, the same function) and sets aside what fails: a file written or
edited by hand is never delivered or trusted.

Standard library only, and nothing is read unless the folders exist: a plain topic push pays two
``listdir`` calls on missing folders.
"""

from __future__ import annotations

import os

HOOK_STATE = "gatekeeper"
INTENT, SPOOL = "intent", "spool"
MAX_STATE = 200  # files sent per hook run (the service takes no more: each may be one log entry)
MAC_DOMAIN = b"gatekeeper.hook-state.v1\x00"
_SHELLS = ("pre-receive", "post-receive", "sh", "dash", "bash")


def state_dir(name: str, git_dir: str | None = None) -> str:
    return os.path.join(git_dir or os.environ.get("GIT_DIR") or ".", HOOK_STATE, name)


# --- sealing -------------------------------------------------------------------------------------

def _canon(value: object) -> bytes:
    import json

    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def seal(kind: str, repo: str, record: dict[str, object], token: str) -> str:
    """HMAC-SHA256 (hex) of ``record`` as a ``kind`` file of ``repo``, keyed with the hook token."""
    import hashlib
    import hmac

    msg = MAC_DOMAIN + _canon([kind, repo, record])
    return hmac.new(token.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def verify(kind: str, repo: str, record: object, mac: object, token: str) -> bool:
    """Whether ``mac`` seals ``record`` as a ``kind`` file of ``repo`` (constant-time compare)."""
    import hmac

    if not (isinstance(record, dict) and isinstance(mac, str) and token):
        return False
    return hmac.compare_digest(seal(kind, repo, record, token).encode(), mac.encode("utf-8", "replace"))


# --- the receive-pack that runs a hook -----------------------------------------------------------

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


# --- files ---------------------------------------------------------------------------------------

class StateFile:
    """One file of the hook's state as read: its path, what it claims and its seal (unchecked)."""

    __slots__ = ("kind", "mac", "path", "record", "repo")

    def __init__(self, path: str, kind: str, repo: object, record: object, mac: object) -> None:
        self.path, self.kind, self.repo, self.record, self.mac = path, kind, repo, record, mac

    @property
    def name(self) -> str:
        """``intents/<file>`` / ``spool/<file>``: how the service names it back."""
        return os.path.join(os.path.basename(os.path.dirname(self.path)), os.path.basename(self.path))

    def body(self) -> dict[str, object]:
        """What the service is sent (``payloads.StateFileIn``)."""
        return {"file": self.name, "kind": self.kind, "repo": self.repo, "record": self.record, "mac": self.mac}

    def get(self, key: str) -> object:
        return self.record.get(key) if isinstance(self.record, dict) else None


def _write(folder: str, name: str, kind: str, repo: str, record: dict[str, object], token: str | None) -> str:
    import json

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    tmp = path + ".tmp"
    sealed = {"kind": kind, "repo": repo, "record": record, "mac": seal(kind, repo, record, token) if token else None}
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(sealed, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _read(folder: str, kind: str) -> list[StateFile]:
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
                data = json.load(fh)
        except (OSError, ValueError):
            data = None  # unreadable: sent as it is, the service refuses it and it is set aside
        sealed = isinstance(data, dict) and "record" in data
        out.append(StateFile(path, kind, data.get("repo") if sealed else None,  # type: ignore[union-attr]
                             data.get("record") if sealed else data, data.get("mac") if sealed else None))  # type: ignore[union-attr]
    return out


def remove(paths: list[str]) -> None:
    for path in paths:
        try:  # noqa: SIM105 (contextlib is one more import on every push)
            os.unlink(path)
        except OSError:
            pass


def set_aside(paths: list[str]) -> None:
    """Files the service refused: kept as ``*.json.bad`` for the administrator, never read again."""
    for path in paths:
        try:  # noqa: SIM105 (contextlib is one more import on every push)
            os.replace(path, path + ".bad")
        except OSError:
            pass


def _intents(f: StateFile) -> list[dict[str, object]]:
    items = f.get("intents")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _ids(f: StateFile) -> list[int]:
    out = []
    for i in _intents(f):
        try:
            out.append(int(i["id"]))  # type: ignore[call-overload]
        except (KeyError, TypeError, ValueError):
            continue
    return out


def record_intents(intents: list[dict[str, object]], repo: str = "", token: str | None = None) -> str:
    """pre-receive: remember this push's intents for its post-receive (and, should that fail, for later)."""
    import time

    pid, start = owner()
    return _write(state_dir("intents"), f"{pid}-{start or 0}.json", INTENT, repo,
                  {"pid": pid, "start": start, "at": time.time(), "intents": intents}, token)


def own_intents() -> tuple[list[StateFile], list[int]]:
    """post-receive: the files and ids pre-receive of this ``receive-pack`` wrote."""
    pid, start = owner()
    files = [f for f in _read(state_dir("intents"), INTENT) if f.get("pid") == pid and f.get("start") == start]
    return files, [i for f in files for i in _ids(f)]


def intent_ids(git_dir: str | None = None) -> tuple[set[int], set[int]]:
    """Ids noted by pushes still running (their post-receive settles them), and by pushes that are gone."""
    live: set[int] = set()
    gone: set[int] = set()
    for f in _read(state_dir("intents", git_dir), INTENT):
        running = alive(_int(f.get("pid")), str(f.get("start") or ""))
        (live if running else gone).update(_ids(f))
    return live, gone


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return 0


def live_intent_ids() -> set[int]:
    return intent_ids()[0]


def stale_intents() -> list[StateFile]:
    """Intent files whose ``receive-pack`` is gone: to be settled from the refs' reflogs."""
    mine = owner()
    out = []
    for f in _read(state_dir("intents"), INTENT):
        pid, start = _int(f.get("pid")), str(f.get("start") or "")
        if (pid, start) == mine or alive(pid, start):
            continue
        out.append(f)
    return out


def settle_facts(entries: list[dict[str, object]], source: str = "", noted_at: object = None,
                 git_dir: str | None = None) -> list[dict[str, object]]:
    """For each intent: the ref's value now and what its reflog records of exactly this update
    (``reflog.evidence``); ``source`` names the state file the intent came from ("" when the
    service asked), ``noted_at`` the time pre-receive noted it (that file's clock, git's clock)."""
    from gatekeeper.gitio import plumbing as git
    from gatekeeper.gitio import reflog
    from gatekeeper.policy.refs import is_null

    facts: list[dict[str, object]] = []
    for e in entries:
        ref, old, new = str(e.get("ref")), str(e.get("old")), str(e.get("new"))
        out = git.git("rev-parse", "--verify", "-q", ref, check=False).decode().strip()
        actual = out or None
        seen = reflog.evidence(git_dir or os.environ.get("GIT_DIR") or ".", ref, old, new)
        commits: list[str] = []
        if seen["matches"] and not is_null(new) and ref.startswith("refs/heads/"):
            span = [new] if is_null(old) else [new, f"^{old}"]
            raw = git.git("rev-list", "--first-parent", "--max-count=10000", *span, check=False).decode()
            commits = raw.split()
        try:
            ident = int(str(e.get("id")))
        except ValueError:
            continue
        facts.append({"id": ident, "ref": ref, "old": old, "new": new, "actual": actual, "file": source,
                      "noted_at": noted_at if isinstance(noted_at, int | float) else None, **seen,
                      "commits": commits})
    return facts


def stale_facts(files: list[StateFile]) -> list[dict[str, object]]:
    """Settle facts for every intent of stale files, each naming its file."""
    return [fact for f in files for fact in settle_facts(_intents(f), f.name, f.get("at"))]


def spool_refusal(record: dict[str, object], repo: str = "", token: str | None = None) -> str:
    import time

    return _write(state_dir("spool"), f"{time.time_ns()}-{os.getpid()}.json", SPOOL, repo, record, token)


def spooled() -> list[StateFile]:
    """Refusals to deliver, as read: the service checks each seal and shape."""
    return _read(state_dir("spool"), SPOOL)
