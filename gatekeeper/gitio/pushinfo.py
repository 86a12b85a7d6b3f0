"""What git tells a hook about a push: ref updates on stdin, push options, the pusher (SPEC §7).

Standard library only, and no subprocess: a topic-only pre-receive needs nothing more than this.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping, Sequence

from gatekeeper.gitio.hookconfig import HookConfig

# A plain namedtuple: typing.NamedTuple would import typing on every push.
RefUpdate = namedtuple("RefUpdate", "old new ref")


def read_updates(text: str) -> list[RefUpdate]:
    updates = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            updates.append(RefUpdate(*parts))
    return updates


def push_options(env: Mapping[str, str]) -> list[str]:
    try:
        count = int(env.get("GIT_PUSH_OPTION_COUNT", "0"))
    except ValueError:
        count = 0
    return [env.get(f"GIT_PUSH_OPTION_{i}", "") for i in range(count)]


def option(options: Sequence[str], name: str) -> str | None:
    """Value of ``gatekeeper.<name>=value`` (last one wins); ``""`` for a bare flag."""
    value = None
    for opt in options:
        key, eq, val = opt.partition("=")
        if key == f"gatekeeper.{name}":
            value = val.strip().strip('"') if eq else ""
    return value


def pusher(config: HookConfig, env: Mapping[str, str]) -> str | None:
    for var in config.pusher_env:
        if env.get(var, "").strip():
            return env[var].strip()
    return None

