"""The access review's pure core: grants, rights, the conflict matrix, dormancy, snapshot diffs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper import config
from gatekeeper.errors import ConfigError
from gatekeeper.policy import access as pa
from tests.support.plant import POLICY

BASE = POLICY.format(url="http://127.0.0.1:9", database="sqlite:///gk.db")
GRANTS = pa.grants(["r1", "r2"], [("recipes", ["eng"], ["leads"]), ("docs", [], [])], ["oncall"], ["audit"],
                   ["admins"])


def holders(**groups: list[str]) -> dict[str, list[pa.Holder]]:
    return {g: [pa.Holder(u.rstrip("!"), u.rstrip("!").title(), (g,), u.endswith("!")) for u in users]
            for g, users in groups.items()}


def test_grants_are_per_repo_for_author_approve_and_emergency_and_service_wide_for_audit_and_admin() -> None:
    assert set(GRANTS) == {
        pa.Grant("author", "eng", "r1", "recipes"), pa.Grant("author", "eng", "r2", "recipes"),
        pa.Grant("approve", "leads", "r1", "recipes"), pa.Grant("approve", "leads", "r2", "recipes"),
        pa.Grant("emergency", "oncall", "r1"), pa.Grant("emergency", "oncall", "r2"),
        pa.Grant("audit", "audit"), pa.Grant("admin", "admins")}


def test_a_code_marks_every_row_of_whoever_holds_both_rights() -> None:
    rights = pa.resolve(GRANTS, holders(eng=["ann", "carl"], leads=["carl"], admins=["ann"], oncall=["otto!"]))
    codes = pa.conflicts(rights, pa.DEFAULT_CONFLICTS)
    assert codes == {"ann": ("admin+author",), "carl": (), "otto": ("disabled",)}
    rows = pa.rows(rights, pa.DEFAULT_CONFLICTS, {}, {}, "2026-01-01T00:00:00Z", 90)
    ann = [r.to_dict() for r in rows if r.right.username == "ann"]
    assert len(ann) == 3 and {r["conflicts"] for r in ann} == {"admin+author"}  # the admin row too
    assert {r["repo"] for r in ann} == {"r1", "r2", ""}


def test_repo_bound_rights_conflict_only_within_one_repo() -> None:
    one = pa.grants(["r1"], [("recipes", ["eng"], [])], ["oncall"], [], [])
    other = pa.grants(["r2"], [("recipes", [], [])], ["oncall"], [], [])
    apart = pa.resolve([*one[:1], *other], holders(eng=["eve"], oncall=["eve"]))  # author r1, emergency r2
    assert pa.conflicts(apart, pa.DEFAULT_CONFLICTS) == {"eve": ()}
    together = pa.resolve(one, holders(eng=["eve"], oncall=["eve"]))
    assert pa.conflicts(together, pa.DEFAULT_CONFLICTS) == {"eve": ("emergency+author",)}


def test_codes_are_sorted_and_joined_with_semicolons() -> None:
    rights = pa.resolve(GRANTS, holders(eng=["zed!"], leads=["zed!"], audit=["zed!"], admins=["zed!"]))
    row = pa.rows(rights, pa.DEFAULT_CONFLICTS, {}, {}, "2026-01-01T00:00:00Z", 90)[0].to_dict()
    assert row["conflicts"] == "admin+approve;admin+author;audit+approve;audit+author;disabled"


@pytest.mark.parametrize(("last", "since", "floor", "dormant"), [
    ("2025-10-01T00:00:00Z", None, None, True),        # 92 days
    ("2025-10-04T00:00:00Z", None, None, False),       # 89 days
    (None, "2025-12-01T00:00:00Z", None, False),       # granted a month ago, never acted
    (None, None, "2025-01-01T00:00:00Z", True),        # the log began a year ago, never acted
    (None, None, None, False),                         # no evidence either way
    ("2025-01-01T00:00:00Z", "2025-12-20T00:00:00Z", None, False),  # the latest reference counts
])
def test_dormant_after_dormant_days_without_activity(last: str | None, since: str | None, floor: str | None,
                                                     dormant: bool) -> None:
    rights = pa.resolve(GRANTS, holders(audit=["dora"]))
    [row] = pa.rows(rights, (), {"dora": last} if last else {}, {"dora": since} if since else {},
                    "2026-01-02T00:00:00Z", 90, floor)
    assert row.dormant is dormant and row.last_activity == last


def test_summary_counts_people_per_code() -> None:
    rights = pa.resolve(GRANTS, holders(eng=["ann", "carl"], admins=["ann", "carl"], oncall=["otto!"]))
    s = pa.summary(pa.rows(rights, pa.DEFAULT_CONFLICTS, {}, {}, "2026-01-01T00:00:00Z", 90), pa.DEFAULT_CONFLICTS)
    assert s["people"] == 3 and s["conflicts"]["admin+author"] == 2 and s["disabled"] == 1
    assert s["conflict_pairs"] == 2 and s["dormant"] == 0


@pytest.mark.parametrize(("code", "problem"), [
    ("admin+approve", None), ("approve+admin", None), ("admin", "two rights joined by '+'"),
    ("admin+", "two rights joined by '+'"), ("admin+root", "unknown right 'root'"),
    ("admin+admin", "the same right twice"), ("a+b+c", "two rights joined by '+'"),
])
def test_conflict_codes(code: str, problem: str | None) -> None:
    found = pa.conflict_problem(code)
    assert (found is None) if problem is None else (problem in (found or ""))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("daily_snapshot = false", 'daily_snapshot = false\nconflicts = ["admin+sudo"]',
     r":\d+: access.conflicts: 'admin\+sudo': unknown right 'sudo'"),
    ("daily_snapshot = false", 'daily_snapshot = false\nconflicts = ["admin+approve", "approve+admin"]',
     r"access.conflicts: 'approve\+admin' is listed twice"),
    ("daily_snapshot = false", "daily_snapshot = false\ndormant_days = 0", r"access.dormant_days: must be a positive"),
    ("daily_snapshot = false", "daily_snapshot = false\nreviewers = []", r"access.reviewers: unknown key"),
    ("emergency_review_hours = 72", 'emergency_review_hours = 72\naccess_reviewers = "auditors"',
     r"roles.access_reviewers: must be a list"),
])
def test_access_config_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in BASE
    path = tmp_path / "gatekeeper.toml"
    path.write_text(BASE.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        config.load(path)


def test_access_config_defaults_and_reviewers(tmp_path: Path) -> None:
    path = tmp_path / "gatekeeper.toml"
    path.write_text(BASE.replace("emergency_review_hours = 72", 'emergency_review_hours = 72\naccess_reviewers = '
                                 '["reviewers"]').replace("daily_snapshot = false", 'conflicts = ["admin+audit"]'))
    cfg = config.load(path)
    assert (cfg.roles.access_reviewers, cfg.access.conflicts, cfg.access.dormant_days, cfg.access.daily_snapshot) == (
        ("reviewers",), ("admin+audit",), 90, True)
    known = {g.group for g in pa.grants(["r"], [(c.name, c.authors, [r.group for r in c.approvals])
                                                for c in cfg.categories], ["ot-emergency"], ["auditors"],
                                        ["gatekeeper-admins"])}
    config.check_groups(cfg, known=known | {"reviewers"})
    with pytest.raises(ConfigError, match=r":\d+: roles.access_reviewers: group 'reviewers' is not known"):
        config.check_groups(cfg, known=known)


@pytest.mark.parametrize("item", [
    ["a", "root", "", "", "g", "A", [], False], ["a", "author", "", "", "g", "A", "g", False],
    ["a", "author", "", "", "g", "A", [], "no"], ["a", "author", "", "", "g", "A", []], "a", None,
    ["", "author", "", "", "g", "A", [], False], ["a", "author", 1, "", "g", "A", [], False],
])
def test_a_malformed_snapshot_right_is_refused(item: object) -> None:
    with pytest.raises(ValueError):
        pa.Right.from_list(item)  # type: ignore[arg-type]


_names = st.sampled_from(["ann", "bob", "cy"])
_rights = st.builds(pa.Right, _names, st.sampled_from(pa.RIGHTS), st.sampled_from(["", "r1"]),
                    st.sampled_from(["", "recipes"]), st.sampled_from(["g1", "g2"]), _names,
                    st.lists(st.sampled_from(["g1", "g2", "g3"]), max_size=2).map(tuple), st.booleans())
_sets = st.lists(_rights, max_size=20).map(lambda rs: list({r.key: r for r in rs}.values()))


@settings(max_examples=60, deadline=None)
@given(_sets, _sets)
def test_replaying_a_diff_gives_the_new_rights_and_their_hash(old: list[pa.Right], new: list[pa.Right]) -> None:
    state = {r.key: r for r in old}
    d = pa.diff(state, new)
    pa.apply(state, d)
    assert sorted(state.values()) == sorted(new)
    assert pa.rights_hash(state.values()) == pa.rights_hash(reversed(new))
    assert [pa.Right.from_list(r.to_list()) for r in new] == new
    with pytest.raises(ValueError):  # a diff applied twice no longer fits
        if d.empty:
            raise ValueError("nothing to apply")
        pa.apply(state, d)
