"""The server-side hooks' body: ``python -m gatekeeper hook pre-receive|post-receive``.

One HTTP round trip per hook run, standard library only. Every line printed starts with
``gatekeeper: `` so git shows ``remote: gatekeeper: ...``; no traceback ever reaches the pusher.
pre-receive only calls the service when a protected ref is updated (topic pushes are always
accepted); post-receive opens/revises CRs and records deployments.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from gatekeeper.errors import GatekeeperError, InputError
from gatekeeper.gitio.hookconfig import HookConfig, load
from gatekeeper.gitio.pushinfo import option, push_options, pusher, read_updates
from gatekeeper.policy.categories import rule_of
from gatekeeper.policy.refs import GATED
from gatekeeper.terminal import escape

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every push a few ms
if TYPE_CHECKING:
    from gatekeeper.gitio.pushinfo import RefUpdate

PREFIX = "gatekeeper: "


def say(line: str) -> None:
    """One ``remote: gatekeeper:`` line; control characters (a file name holding escape sequences)
    shown escaped (``\\x1b``), so nothing pushed can rewrite what the pusher's terminal shows."""
    sys.stderr.write(PREFIX + escape(line) + "\n")


class ServiceDown(ConnectionError):
    """The service is unreachable or failing: the same push can succeed later."""


def post(config: HookConfig, path: str, body: dict[str, object], timeout: float) -> dict[str, object]:
    import json  # imported here: a topic-only pre-receive never talks to the service

    from gatekeeper.gitio.http import post_json

    try:
        token = config.token()
    except GatekeeperError as exc:
        raise ConnectionError(exc.message) from exc
    data = json.dumps(body, separators=(",", ":")).encode("utf-8")
    try:
        status, raw = post_json(config.url, path, data, token, timeout)
    except (OSError, ValueError) as exc:
        reached = "closed the connection" in str(exc)  # gitio.http.CLOSED: it was reached, then went away
        raise ServiceDown(f"service {'at' if reached else 'unreachable at'} {config.url}: {exc}") from exc
    try:
        result = json.loads(raw.decode("utf-8"))
    except ValueError:
        result = None
    if status != 200:
        err = result.get("error", {}).get("message") if isinstance(result, dict) else None
        cls = ServiceDown if status >= 500 else ConnectionError  # 4xx: retrying the same push will not help
        raise cls(f"service answered {status}: {err or raw[:200].decode('utf-8', 'replace')}")
    if not isinstance(result, dict):
        raise ConnectionError("service answered with something other than a JSON object")
    return result


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in ("pre-receive", "post-receive"):
        say("usage: python -m gatekeeper hook pre-receive|post-receive")
        return 2
    which = argv[0]
    updates = read_updates(sys.stdin.read())
    try:
        return _run(which, updates)
    except InputError as exc:  # the push itself is the problem (a file name, say): say what to change
        if which == "post-receive":
            say(f"pushed, but no change request was opened or revised: {exc.message}")
            return 0
        say(f"refusing the push: {exc.message}")
        return 1
    except (GatekeeperError, OSError) as exc:
        message = exc.message if isinstance(exc, GatekeeperError) else str(exc)
        if which == "post-receive":
            say(f"could not report this push to the service: {message}; the push went through, but no change "
                "request was opened or revised and no deployment was recorded; ask your Gatekeeper administrator")
            return 0
        say(f"cannot check this push: {message}")
        if updates:  # without the policy no ref can be told apart: fail closed
            say("refusing the push (fail closed); ask your Gatekeeper administrator")
            _spool(updates, None, [], message, None)
            return 1
        return 0


def _kind(ref: str) -> str:
    """What a gated ref is, in the hook's refusal line."""
    if ref.startswith("refs/heads/"):
        return "protected branch"
    return "protected tag" if ref.startswith("refs/tags/") else "ref the service decides"


def _spool(updates: list[RefUpdate], who: str | None, options: list[str], reason: str,
           config: HookConfig | None) -> None:
    """Keep a refusal made without the service, sealed with the hook token when the hook has it, for
    the next hook run to deliver (SPEC §11; the service checks the seal: issue 22 item 2)."""
    import time

    from gatekeeper.gitio import spool

    try:
        token = config.token() if config is not None else None
    except GatekeeperError:
        token = None  # unsealed: the service logs it as hook.state_rejected, with what it says
    try:
        spool.spool_refusal({"pusher": who, "push_options": options, "reason": reason[:4000],
                             "refused_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "refs": [{"ref": u.ref, "old": u.old, "new": u.new} for u in updates]},
                            os.environ.get("GATEKEEPER_HOOK_REPO", ""), token)
    except OSError as exc:
        say(f"could not spool this refusal for the log: {exc}")


def _pending(body: dict[str, object], post_receive: bool) -> list[object]:
    """Add what earlier runs left in the repo (this push's intent note, stale ones with what the
    refs' reflogs record, spooled refusals), each file with its seal; returns the files sent."""
    from gatekeeper.gitio import spool

    files: list[spool.StateFile] = []
    if post_receive:
        own, ids = spool.own_intents()
        body["intents"] = ids
        files += own
    stale = spool.stale_intents()[:max(0, spool.MAX_STATE - len(files))]  # the rest on the next run
    if stale:
        body["settle"] = spool.stale_facts(stale)
    files += stale
    files += spool.spooled()[:max(0, spool.MAX_STATE - len(files))]
    if files:
        body["state"] = [f.body() for f in files]
    return list(files)


def _done(files: list[object], result: dict[str, object]) -> None:
    """Files the service took are removed; those it refused (their seal failed) are set aside."""
    from gatekeeper.gitio import spool

    rejected = result.get("rejected")
    refused = set(rejected) if isinstance(rejected, list) else set()
    state = [f for f in files if isinstance(f, spool.StateFile)]
    spool.set_aside([f.path for f in state if f.name in refused])
    spool.remove([f.path for f in state if f.name not in refused])


def _settle_unsettled(config: HookConfig, repo_name: str, result: dict[str, object]) -> None:
    """Open intents the service knows of with no live push behind them: settle from the refs' values."""
    from gatekeeper.gitio import spool

    unsettled = result.get("unsettled")
    if not isinstance(unsettled, list) or not unsettled:
        return
    live = spool.live_intent_ids()
    entries = [e for e in unsettled if isinstance(e, dict) and e.get("id") not in live]
    if not entries:
        return
    body: dict[str, object] = {"repo": repo_name, "updates": [], "settle": spool.settle_facts(entries)}
    try:
        again = post(config, "/api/v1/hooks/post-receive", body, 60.0)
    except ConnectionError as exc:
        say(f"could not settle earlier deploy intents: {exc}")
        return
    messages = again.get("messages")
    for line in messages if isinstance(messages, list) else []:
        say(str(line))


def _run(which: str, updates: list[RefUpdate]) -> int:
    config = load(os.environ.get("GATEKEEPER_HOOK_CONFIG") or os.environ.get("GATEKEEPER_CONFIG"),
                  os.environ.get("GATEKEEPER_HOOK_POLICY"))
    repo_name = os.environ.get("GATEKEEPER_HOOK_REPO", "")
    if repo_name not in config.repos:
        raise GatekeeperError(f"repository {repo_name!r} (the --name given to install-hooks) is not in the policy "
                              f"file {config.path}: add a [[repos]] table with that name, or re-run install-hooks")
    rules = config.repos[repo_name]
    env = dict(os.environ)
    options = push_options(env)
    who = pusher(config, env)
    protected = [u for u in updates if rule_of(u.ref, *rules) in GATED]  # protected branches and tags, unlisted refs
    if which == "pre-receive" and not protected:
        return 0  # topic branches, unprotected tags, listed refs: accepted, logged after the push
    post_receive = which == "post-receive"
    body: dict[str, object] = {"repo": repo_name, "pusher": who, "push_options": options,
                               "updates": _described(config, repo_name, options, updates, protected, post_receive)}
    consumed = _pending(body, post_receive)
    try:
        result = post(config, f"/api/v1/hooks/{which}", body, 120.0 if post_receive else 30.0)
    except ConnectionError as exc:
        if post_receive:
            return _unreported(exc, updates, protected)
        return _unchecked(config, exc, protected, who, options)
    from gatekeeper.gitio import spool

    _done(consumed, result)  # delivered (the service has logged them) or set aside
    messages = result.get("messages")
    for line in messages if isinstance(messages, list) else []:
        say(str(line))
    if post_receive:
        _settle_unsettled(config, repo_name, result)
        return 0
    allowed = result.get("allow") is True
    intents = result.get("intents")
    if allowed and isinstance(intents, list) and intents:
        try:
            spool.record_intents([i for i in intents if isinstance(i, dict)], repo_name, config.token())
        except OSError as exc:  # post-receive still confirms by (ref, old, new); reconcile settles the rest
            say(f"could not note the deploy intents in the repository: {exc}")
    return 0 if allowed else 1


def _described(config: HookConfig, repo_name: str, options: list[str], updates: list[RefUpdate],
               protected: list[RefUpdate], post_receive: bool) -> list[dict[str, object]]:
    """The updates as the service is told them. pre-receive's gate works from the stored CRs: it needs
    neither contents nor commits of its protected updates. post-receive sends every update with its
    commits, and contents for topic branches (CR analysis) and break-glass updates (described as what
    they did to the ref: their emergency CR lists the files, whatever kind of update it was)."""
    from gatekeeper.gitio.receive import PayloadBuilder  # git plumbing: only when there is work

    builder = PayloadBuilder(config, repo_name, options)
    emergency = option(options, "emergency") is not None
    described = []
    for u in updates if post_receive else protected:
        try:
            described.append(builder.update(u, with_content=post_receive and (u not in protected or emergency),
                                            with_commits=post_receive,
                                            breakglass=post_receive and emergency and u in protected))
        except InputError as exc:  # pre-receive refuses (main); post-receive still reports the other refs
            if not post_receive:
                raise
            say(f"{u.ref}: pushed, but no change request was opened or revised: {exc.message}")
    return described


def _unreported(exc: ConnectionError, updates: list[RefUpdate], protected: list[RefUpdate]) -> int:
    """post-receive without the service: the push went through; say what was not recorded."""
    say(str(exc))
    if any(u not in protected for u in updates):
        say("the topic branch was pushed, but no change request was opened or revised; " +
            ("push a new commit when the service is back" if isinstance(exc, ServiceDown) else
             "ask your Gatekeeper administrator to fix the cause above, then push a new commit"))
    if protected:
        say("the deployment is not confirmed yet: its deploy intent stays open and is settled from the "
            "ref's reflog by the next push to this repository or by `gatekeeper audit reconcile`")
    return 0


def _unchecked(config: HookConfig, exc: ConnectionError, protected: list[RefUpdate], who: str | None,
               options: list[str]) -> int:
    """pre-receive without the service: protected updates fail closed (unless ``fail_open``), spooled."""
    say(str(exc))
    if config.fail_open:
        say("fail_open = true: allowing the push unchecked")
        return 0
    for u in protected:
        say(f"refusing {u.ref}: {_kind(u.ref)}, and the service cannot check it (fail closed); "
            "topic branches are still accepted; " + ("push again when the service is back"
                                                     if isinstance(exc, ServiceDown) else
                                                     "ask your Gatekeeper administrator to fix the cause above"))
    _spool(protected, who, options, str(exc), config)
    return 1
