"""FileDirectory, the embedded directory: the same contract as LDAP (nesting with paths, cycles,
generic login failures) plus reload-on-change, so a removal counts at the next SoD decision."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from gatekeeper.directory.file import FileDirectory
from gatekeeper.errors import AuthError, ConfigError, DirectoryUnavailable
from gatekeeper.policy.people import Membership

_fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # same verify path, cheap to compute
GENERIC = r"^invalid username or password$"
USERS = {"alice": "Alice Engineer", "bob": "Bob Controller", "carol": "Carol Lead", "erin": "Erin On-Call"}
GROUPS = {
    "ot-engineers": (["alice", "erin"], ["ot-engineering-leads"]),
    "ot-engineering-leads": (["carol"], []),
    "engineers": (["alice"], []),
    "ot-staff": ([], ["engineers"]),
    "plant": ([], ["ot-staff"]),
    "finance-controllers": (["bob"], []),
    "cycle-a": (["bob"], ["cycle-b"]),
    "cycle-b": ([], ["cycle-a"]),
}


def toml(users: dict[str, str], groups: dict[str, tuple[list[str], list[str]]]) -> str:
    out = [f'[[users]]\nusername = "{u}"\nname = "{n}"\nemail = "{u.capitalize()}@plant.example"\n'
           f'password_hash = "{_fast.hash(f"{u}-Secret-1")}"\n' for u, n in users.items()]
    out += [f'[[groups]]\nname = "{g}"\nmembers = {m}\ngroups = {n}\n'.replace("'", '"')
            for g, (m, n) in groups.items()]
    return "\n".join(out)


def rewrite(path: Path, text: str) -> None:
    """Write and move the mtime forward, so the change is seen even on coarse-mtime filesystems."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "directory.toml"
    p.write_text(toml(USERS, GROUPS))
    return p


@pytest.fixture
def directory(path: Path) -> FileDirectory:
    return FileDirectory(path)


def groups(directory: FileDirectory, username: str) -> dict[str, tuple[str, ...]]:
    return {m.group: m.via for m in directory.memberships(username)}


def test_login_ok(directory: FileDirectory) -> None:
    user = directory.authenticate("carol", "carol-Secret-1")
    assert (user.username, user.name, user.email) == ("carol", "Carol Lead", "Carol@plant.example")


@pytest.mark.parametrize(("username", "secret"), [("carol", "wrong"), ("nobody", "carol-Secret-1"),
                                                  ("carol", ""), ("", "")])
def test_wrong_password_and_unknown_user_look_the_same(directory: FileDirectory, username: str,
                                                       secret: str) -> None:
    with pytest.raises(AuthError, match=GENERIC):
        directory.authenticate(username, secret)


def test_unknown_user_has_nothing(directory: FileDirectory) -> None:
    assert directory.get_user("nobody") is None
    assert directory.memberships("nobody") == []
    assert directory.find_by_email("nobody@plant.example") is None


def test_find_by_email_ignores_case_and_spaces(directory: FileDirectory) -> None:
    user = directory.find_by_email(" carol@PLANT.example ")
    assert user is not None and user.username == "carol"


def test_nested_groups_with_paths(directory: FileDirectory) -> None:
    assert groups(directory, "carol") == {"ot-engineering-leads": ("ot-engineering-leads",),
                                          "ot-engineers": ("ot-engineering-leads", "ot-engineers")}
    assert groups(directory, "alice") == {"engineers": ("engineers",), "ot-engineers": ("ot-engineers",),
                                          "ot-staff": ("engineers", "ot-staff"),
                                          "plant": ("engineers", "ot-staff", "plant")}


def test_cycles_terminate(directory: FileDirectory) -> None:
    assert groups(directory, "bob") == {"cycle-a": ("cycle-a",), "cycle-b": ("cycle-a", "cycle-b"),
                                        "finance-controllers": ("finance-controllers",)}
    rows = [(u.username, m.via) for u, m in directory.group_members("cycle-b")]
    assert rows == [("bob", ("cycle-a", "cycle-b"))]


def test_group_members_and_exists(directory: FileDirectory) -> None:
    rows = [(u.username, m) for u, m in directory.group_members("ot-engineers")]
    assert rows == [("alice", Membership("ot-engineers", ("ot-engineers",))),
                    ("carol", Membership("ot-engineers", ("ot-engineering-leads", "ot-engineers"))),
                    ("erin", Membership("ot-engineers", ("ot-engineers",)))]
    assert directory.group_exists("plant") and not directory.group_exists("alice")


def test_changes_on_disk_are_seen_at_the_next_lookup(directory: FileDirectory, path: Path) -> None:
    assert "finance-controllers" in groups(directory, "bob")
    rewrite(path, toml(USERS, {**GROUPS, "finance-controllers": (["erin"], [])}))
    assert "finance-controllers" not in groups(directory, "bob")
    assert "finance-controllers" in groups(directory, "erin")
    assert directory.health() == "ok"


def test_a_broken_reload_fails_closed_until_fixed(directory: FileDirectory, path: Path) -> None:
    good = path.read_text()
    rewrite(path, "[[users]\nbroken")
    with pytest.raises(DirectoryUnavailable, match="invalid TOML"):  # at run time: an outage, a 503
        directory.memberships("bob")
    assert "invalid TOML" in directory.health()
    rewrite(path, good)
    assert "finance-controllers" in groups(directory, "bob")


@pytest.mark.parametrize(("groups_", "message"), [
    ({"g": (["nobody"], [])}, "unknown user 'nobody'"),
    ({"g": ([], ["missing"])}, "unknown group 'missing' nested in 'g'"),
])
def test_bad_references_are_config_errors(tmp_path: Path, groups_: dict[str, tuple[list[str], list[str]]],
                                          message: str) -> None:
    p = tmp_path / "directory.toml"
    p.write_text(toml(USERS, groups_))
    with pytest.raises(ConfigError, match=message):
        FileDirectory(p)


def test_a_user_defined_twice_is_a_config_error(tmp_path: Path) -> None:
    p = tmp_path / "directory.toml"
    p.write_text(toml(USERS, {}) + "\n" + toml({"alice": "Alice Again"}, {}))
    with pytest.raises(ConfigError, match="user 'alice' defined twice"):
        FileDirectory(p)


@pytest.mark.parametrize("spelling", ["carol", "Carol", "CAROL", " carol ", "ｃａｒｏｌ", "𝐜𝐚𝐫𝐨𝐥", "𝖈𝖆𝖗𝖔𝖑"])
def test_names_match_like_openldap_and_come_back_canonical(directory: FileDirectory, spelling: str) -> None:
    """NFKC + case folding, as slapd matches uids: one person, one canonical username (SPEC §11)."""
    assert directory.canonical(spelling) == "carol"
    user = directory.get_user(spelling)
    assert user is not None and user.username == "carol"
    assert directory.authenticate(spelling, "carol-Secret-1").username == "carol"
    assert "ot-engineering-leads" in groups(directory, spelling)


def test_lookalike_names_do_not_match(directory: FileDirectory) -> None:
    assert directory.canonical("carоl") is None  # Cyrillic о
    assert directory.canonical("ca rol") is None


def test_names_equal_after_folding_are_refused(path: Path) -> None:
    rewrite(path, toml({"carol": "Carol Lead", "Ｃarol": "Impostor"}, {}))
    with pytest.raises(ConfigError, match="defined twice"):
        FileDirectory(path)


def test_a_disabled_account_is_unknown_but_listed_by_the_access_review(path: Path) -> None:
    """``disabled = true`` is a switched-off account: no login, no SoD role, but still in its groups."""
    text = toml({**USERS, "grace": "Grace Leaver"}, {**GROUPS, "ot-engineering-leads": (["carol", "grace"], [])})
    rewrite(path, text.replace('username = "grace"\n', 'username = "grace"\ndisabled = true\n'))
    directory = FileDirectory(path)
    with pytest.raises(AuthError, match=GENERIC):
        directory.authenticate("grace", "grace-Secret-1")
    assert directory.get_user("grace") is None and directory.memberships("grace") == []
    assert directory.find_by_email("Grace@plant.example") is None
    assert [u.username for u, _ in directory.group_members("ot-engineering-leads")] == ["carol"]
    found = directory.group_accounts(["ot-engineers", "finance-controllers", "no-such-group"])
    assert [(u.username, m.via, off) for u, m, off in found["ot-engineers"]] == [
        ("alice", ("ot-engineers",), False), ("carol", ("ot-engineering-leads", "ot-engineers"), False),
        ("erin", ("ot-engineers",), False), ("grace", ("ot-engineering-leads", "ot-engineers"), True)]
    assert found["no-such-group"] == [] and [u.username for u, _, _ in found["finance-controllers"]] == ["bob"]
    rewrite(path, text.replace('username = "grace"\n', 'username = "grace"\ndisabled = "yes"\n'))
    with pytest.raises(ConfigError, match=r"users\[4\].disabled: must be true or false"):
        FileDirectory(path)
