"""What git tells a hook (``gitio.pushinfo``): ref updates on stdin, push options, the pusher."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.gitio.hookconfig import load
from gatekeeper.gitio.pushinfo import RefUpdate, option, push_options, pusher, read_updates
from tests.support.plant import make_plant


def test_updates_are_read_line_by_line_and_short_lines_are_skipped() -> None:
    text = f"{'0' * 40} {'a' * 40} refs/heads/cr/x y\n\njunk\ntwo words\n{'a' * 40} {'0' * 40} refs/heads/old\n"
    assert read_updates(text) == [RefUpdate("0" * 40, "a" * 40, "refs/heads/cr/x y"),  # spaces stay in the ref
                                  RefUpdate("a" * 40, "0" * 40, "refs/heads/old")]
    assert read_updates("") == []


def test_push_options_as_git_passes_them_and_the_last_value_wins() -> None:
    env = {"GIT_PUSH_OPTION_COUNT": "3", "GIT_PUSH_OPTION_0": "gatekeeper.emergency=\"line 3 down\"",
           "GIT_PUSH_OPTION_1": "ci.skip", "GIT_PUSH_OPTION_2": "gatekeeper.title=Second"}
    options = push_options(env)
    assert options == ['gatekeeper.emergency="line 3 down"', "ci.skip", "gatekeeper.title=Second"]
    assert option(options, "emergency") == "line 3 down"
    assert option(["gatekeeper.title=a", "gatekeeper.title=b"], "title") == "b"
    assert option(["gatekeeper.emergency"], "emergency") == ""  # a bare flag
    assert option(options, "ticket") is None
    assert push_options({"GIT_PUSH_OPTION_COUNT": "x"}) == [] and push_options({}) == []


def test_the_pusher_is_the_first_set_variable_of_pusher_env(tmp_path: Path) -> None:
    config = load(str(make_plant(tmp_path).config))
    first, second = config.pusher_env[0], config.pusher_env[1]
    assert pusher(config, {first: " carol ", second: "bob"}) == "carol"
    assert pusher(config, {first: "  ", second: "bob"}) == "bob"  # blank is not set
    assert pusher(config, {}) is None
