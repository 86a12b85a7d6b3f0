"""directory.memo: each question once per request, nothing memoised across memos, passwords never."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.directory.file import FileDirectory
from gatekeeper.directory.memo import MemoDirectory
from gatekeeper.errors import AuthError
from tests.support.plant import GROUPS, directory_toml, password


class Counting:
    """A real FileDirectory that counts the questions reaching it."""

    def __init__(self, inner: FileDirectory) -> None:
        self.inner, self.kind = inner, inner.kind
        self.calls: list[str] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        fn = getattr(self.inner, name)

        def wrapped(*args: object):  # type: ignore[no-untyped-def]
            self.calls.append(name)
            return fn(*args)

        return wrapped


@pytest.fixture
def counting(tmp_path: Path) -> Counting:
    path = tmp_path / "directory.toml"
    path.write_text(directory_toml())
    return Counting(FileDirectory(path))


def test_each_question_once(counting: Counting) -> None:
    memo = MemoDirectory(counting)  # type: ignore[arg-type]
    for _ in range(3):
        assert memo.get_user("carol") is not None
        assert memo.canonical("carol") == "carol"
        assert {m.group for m in memo.memberships("carol")} >= {"ot-engineering-leads", "ot-engineers"}
        assert memo.find_by_email("carol@plant.example") is not None  # primed by get_user
        assert memo.get_user("nobody") is None  # a miss is an answer too
        assert memo.group_exists("auditors")
        assert memo.group_members("auditors")
    assert sorted(counting.calls) == ["get_user", "get_user", "group_exists", "group_members", "memberships"]


def test_email_first_primes_the_user(counting: Counting) -> None:
    memo = MemoDirectory(counting)  # type: ignore[arg-type]
    assert memo.find_by_email("Bob@Plant.Example ") is not None
    assert memo.get_user("bob") is not None
    assert counting.calls == ["find_by_email"]


def test_fresh_across_memos_and_passwords_always_checked(counting: Counting, tmp_path: Path) -> None:
    first = MemoDirectory(counting)  # type: ignore[arg-type]
    assert "ot-engineering-leads" in {m.group for m in first.memberships("gina")}
    groups = {**GROUPS, "ot-engineering-leads": (["carol"], [])}
    (tmp_path / "directory.toml").write_text(directory_toml(groups=groups))
    assert "ot-engineering-leads" not in {m.group for m in MemoDirectory(counting).memberships("gina")}  # type: ignore[arg-type]
    with pytest.raises(AuthError):
        first.authenticate("carol", "wrong")
    assert first.authenticate("carol", password("carol")).username == "carol"
    assert counting.calls.count("authenticate") == 2
