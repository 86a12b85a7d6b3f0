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

from gatekeeper.errors import GatekeeperError
from gatekeeper.gitio.hookconfig import HookConfig, load
from gatekeeper.gitio.pushinfo import option, push_options, pusher, read_updates
from gatekeeper.policy.categories import branch_name, is_protected

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every push a few ms
if TYPE_CHECKING:
    from gatekeeper.gitio.pushinfo import RefUpdate

PREFIX = "gatekeeper: "


def say(line: str) -> None:
    sys.stderr.write(PREFIX + line + "\n")


def post(config: HookConfig, path: str, body: dict[str, object], timeout: float) -> dict[str, object]:
    import json  # imported here: a topic-only pre-receive never talks to the service

    from gatekeeper.gitio.http import post_json

    token = os.environ.get(config.hook_token_env, "")
    if not token:
        raise ConnectionError(f"hook token not set (environment variable {config.hook_token_env})")
    data = json.dumps(body, separators=(",", ":")).encode("utf-8")
    try:
        status, raw = post_json(config.url, path, data, token, timeout)
    except (OSError, ValueError) as exc:
        reached = "closed the connection" in str(exc)  # gitio.http.CLOSED: it was reached, then went away
        raise ConnectionError(f"service {'at' if reached else 'unreachable at'} {config.url}: {exc}") from exc
    try:
        result = json.loads(raw.decode("utf-8"))
    except ValueError:
        result = None
    if status != 200:
        err = result.get("error", {}).get("message") if isinstance(result, dict) else None
        raise ConnectionError(f"service answered {status}: {err or raw[:200].decode('utf-8', 'replace')}")
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
    except (GatekeeperError, OSError) as exc:
        message = exc.message if isinstance(exc, GatekeeperError) else str(exc)
        if which == "post-receive":
            say(f"could not report this push to the service: {message}")
            return 0
        protected_hit = any(branch_name(u.ref) for u in updates)
        say(f"cannot check this push: {message}")
        if protected_hit:
            say("refusing the push (fail closed); ask your Gatekeeper administrator")
            return 1
        return 0


def _run(which: str, updates: list[RefUpdate]) -> int:
    config = load(os.environ.get("GATEKEEPER_HOOK_CONFIG") or os.environ.get("GATEKEEPER_CONFIG"),
                  os.environ.get("GATEKEEPER_HOOK_POLICY"))
    repo_name = os.environ.get("GATEKEEPER_HOOK_REPO", "")
    if repo_name not in config.repos:
        raise GatekeeperError(f"repository {repo_name!r} is not in the policy file {config.path}")
    protected_patterns = config.repos[repo_name]
    env = dict(os.environ)
    options = push_options(env)
    who = pusher(config, env)
    protected = [u for u in updates if (b := branch_name(u.ref)) and is_protected(b, protected_patterns)]
    emergency = option(options, "emergency") is not None
    if which == "pre-receive" and not protected:
        return 0  # topic branches are always accepted; the CR is opened after the push
    from gatekeeper.gitio.receive import PayloadBuilder  # git plumbing: only when there is work

    builder = PayloadBuilder(config, repo_name, options)
    post_receive = which == "post-receive"

    def describe(u: RefUpdate) -> dict[str, object]:
        # pre-receive's gate works from the stored CRs: it needs neither contents nor commits.
        # post-receive sends contents for topic branches (CR analysis) and emergency deployments.
        content = post_receive and (u not in protected or emergency)
        return builder.update(u, with_content=content, with_commits=post_receive)

    wanted = updates if post_receive else protected
    body: dict[str, object] = {"repo": repo_name, "pusher": who, "push_options": options,
                               "updates": [describe(u) for u in wanted]}
    timeout = 30.0 if which == "pre-receive" else 120.0
    try:
        result = post(config, f"/api/v1/hooks/{which}", body, timeout)
    except ConnectionError as exc:
        if which == "post-receive":
            say(str(exc))
            if any(u not in protected for u in updates):
                say("the topic branch was pushed, but no change request was opened or revised; push a new "
                    "commit when the service is back")
            if protected:
                say("the deployment was not recorded; `gatekeeper audit reconcile` will report it")
            return 0
        say(str(exc))
        if config.fail_open:
            say("fail_open = true: allowing the push unchecked")
            return 0
        for u in protected:
            say(f"refusing {u.ref}: protected branch, and the service cannot check it (fail closed); "
                "topic branches are still accepted")
        return 1
    messages = result.get("messages")
    for line in messages if isinstance(messages, list) else []:
        say(str(line))
    if which == "pre-receive":
        return 0 if result.get("allow") is True else 1
    return 0
