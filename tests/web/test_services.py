"""web.services(): a directory memo per request, none across requests (issue 18)."""

from __future__ import annotations

from flask import Flask

from gatekeeper.directory.memo import MemoDirectory
from gatekeeper.web.context import services


def test_one_memo_per_request_and_none_outside(app: Flask) -> None:
    with app.test_request_context("/"):
        first = services().directory
        assert isinstance(first, MemoDirectory) and services().directory is first
        assert first.get_user("Carol") is not None and first.asked == 1
        assert first.canonical("carol") == "carol" and first.asked == 1  # asked once in this request
    with app.test_request_context("/"):
        second = services().directory
        assert isinstance(second, MemoDirectory) and second is not first and second.asked == 0
    with app.app_context():
        assert not isinstance(services().directory, MemoDirectory)  # CLI and background work: no memo
