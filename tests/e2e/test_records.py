"""Issue 22 items 1-6 and the hook's lines reproduced through real pushes, real hooks and the real
service: every deployment, every ref and every approval recorded as it really happened."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_deploy_intents import entries, hook, log_verifies, push_many, ref
from tests.e2e.test_flow import bootstrap, open_cr
from tests.support.git import PushResult, Repo, git, no_git_env
from tests.support.plant import Plant, make_plant, with_ref_rules
from tests.support.service import Service

pytestmark = pytest.mark.e2e


@pytest.fixture
def plant(tmp_path: Path) -> Plant:
    """The test plant with protected tags and one listed other ref (SPEC §12 "Refs")."""
    return with_ref_rules(make_plant(tmp_path / "plant"))


def commit_as(repo: Repo, files: dict[str, str], author: tuple[str, str], committer: tuple[str, str] | None = None,
              message: str = "change") -> str:
    """A commit with exactly these author and committer identities (name, address)."""
    for path, content in files.items():
        (repo.work / path).parent.mkdir(parents=True, exist_ok=True)
        (repo.work / path).write_text(content)
    git(repo.work, "add", "-A")
    c = committer or author
    git(repo.work, "commit", "-q", "-m", message, env=no_git_env({
        "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": c[0], "GIT_COMMITTER_EMAIL": c[1]}))
    return repo.head()


def codes(reasons: list[dict[str, Any]]) -> list[str]:
    return [r["code"] for r in reasons]


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_deploy_git_never_made_is_voided_even_when_main_holds_the_commit(repo: Repo, service: Service) -> None:
    """Item 1: P1 (approved Y) waits in a slow ``update`` hook; P2 puts ``git merge -s ours Y`` on main.
    P1's ref update then fails; ancestry would say "deployed", the reflog says it never happened."""
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/y.txt": "Y\n"}, "topic-y")
    y = repo.head()
    assert service.sign(cid, "carol").status_code == 201
    entered, release = repo.plant.dir / "p1-entered", repo.plant.dir / "p1-release"
    hook(repo, "update", f'if [ "$3" = "{y}" ]; then touch "{entered}"\n'
                         f'  while [ ! -e "{release}" ]; do sleep 0.05; done\nfi\nexit 0\n')  # gitolite's is slow
    results: list[PushResult] = []
    p1 = threading.Thread(target=lambda: results.append(push_many(repo, f"{y}:refs/heads/main")))
    p1.start()
    wait_for(entered)  # P1 is past its gate decision, before its ref update
    git(repo.work, "checkout", "-q", "-B", "ours", "origin/main")
    git(repo.work, "-c", "user.name=Alice Engineer", "-c", "user.email=alice@plant.example",
        "merge", "-q", "-s", "ours", "--no-edit", y)
    merged = repo.head()
    p2 = push_many(repo, f"{merged}:refs/heads/main")
    assert p2.ok, p2.stderr
    release.touch()
    p1.join(60)
    assert not results[0].ok and ref(repo, "refs/heads/main") == merged  # git refused P1's update
    assert git(repo.bare, "merge-base", "--is-ancestor", y, "refs/heads/main", check=False) == ""  # Y is an ancestor
    # The next hook run settles P1's intent from main's reflog: it records no update to Y.
    git(repo.work, "checkout", "-q", "-B", "later", merged)
    repo.commit({"docs/later.md": "x\n"}, "later")
    assert repo.push("HEAD:refs/heads/later").ok
    assert not [e for e in entries(service, "change.deployed") if e["payload"]["change_id"] == cid]
    voided = [e["payload"] for e in entries(service, "deploy.voided") if e["payload"]["new"] == y]
    assert len(voided) == 1 and "reflog" in voided[0]["reason"] and voided[0]["settled_by"] == "hook"
    assert service.get(f"/api/v1/changes/{cid}", "carol").json()["state"] == "approved"
    assert not list((repo.bare / "gatekeeper" / "intents").glob("*.json"))
    log_verifies(repo)


def test_hook_state_written_or_edited_by_hand_is_set_aside_and_logged(repo: Repo, service: Service) -> None:
    """Item 2: a hand-written spooled refusal and an intent note edited to name main's value."""
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/a.txt": "A\n"}, "topic-a")
    assert service.sign(cid, "carol").status_code == 201
    refuse = hook(repo, "update", 'case "$1" in refs/heads/main) exit 1;; esac\nexit 0\n')
    head = repo.head()
    assert not push_many(repo, f"{head}:refs/heads/main").ok  # the gate allowed; git refused; no post-receive
    [note] = list((repo.bare / "gatekeeper" / "intents").glob("*.json"))
    sealed = json.loads(note.read_text())
    assert sealed["mac"] and sealed["repo"] == "plant-a-ot"
    main = ref(repo, "refs/heads/main")
    sealed["record"]["intents"][0]["old"] = main  # "git moved main to where it is"
    sealed["record"]["intents"][0]["new"] = main
    note.write_text(json.dumps(sealed))
    forged = repo.bare / "gatekeeper" / "spool" / "1-1.json"
    forged.parent.mkdir(exist_ok=True)
    forged.write_text(json.dumps({"pusher": "carol", "refused_at": "2020-01-01T00:00:00Z", "reason": "x",
                                  "refs": [{"ref": "refs/heads/main", "old": main, "new": head}]}))
    refuse.unlink()
    git(repo.work, "checkout", "-q", "-B", "other", main)
    repo.commit({"docs/o.md": "o\n"}, "other")
    r = repo.push("HEAD:refs/heads/other")
    assert r.ok and "failed their seal" in r.text(), r.stderr
    rejected = entries(service, "hook.state_rejected")
    assert sorted(codes([x for e in rejected for x in e["payload"]["reasons"]])) == [
        "hook.state_forged", "hook.state_unsealed"]
    assert not [e for e in entries(service, "push.refused") if e["payload"].get("spooled")]
    assert not [e for e in entries(service, "change.deployed") if e["payload"]["change_id"] == cid]
    assert (forged.parent / "1-1.json.bad").exists() and Path(str(note) + ".bad").exists()
    log_verifies(repo)


def test_every_ref_has_a_rule_and_every_update_a_record(repo: Repo, service: Service) -> None:
    """Item 3: protected tags, unprotected tags, listed and unlisted refs outside refs/heads/."""
    bootstrap(repo, service)
    main = ref(repo, "refs/heads/main")
    git(repo.work, "checkout", "-q", "-B", "side", main)
    side = repo.commit({"cfg/unapproved.txt": "u\n"}, "unapproved")
    assert repo.push("HEAD:refs/heads/side").ok
    refused = {"refs/tags/v1.0": f"{side}:refs/tags/v1.0", "refs/for/main": f"{side}:refs/for/main",
               "refs/pull/1/head": f"{side}:refs/pull/1/head"}
    for name, spec in refused.items():
        r = push_many(repo, spec)
        assert not r.ok and f"refusing {name}" in r.text(), r.stderr
    assert push_many(repo, f"{main}:refs/tags/v1.0").ok  # on content main holds
    for spec in (f"{side}:refs/tags/v1.0", ":refs/tags/v1.0"):
        assert not push_many(repo, "+" + spec if spec[0] != ":" else spec).ok
    assert ref(repo, "refs/tags/v1.0") == main
    assert push_many(repo, f"{side}:refs/tags/build-7", f"{side}:refs/notes/commits").ok
    codes_refused = [c for e in entries(service, "push.refused") for r in e["payload"]["refs"]
                     for c in codes(r["reasons"])]
    assert {"gate.tag_not_held", "gate.ref_not_allowed", "gate.tag_moved", "gate.tag_deleted"} <= set(codes_refused)
    tag = [e["payload"] for e in entries(service, "change.deployed") if e["payload"]["ref"] == "refs/tags/v1.0"]
    assert len(tag) == 1 and tag[0]["new"] == main and codes(tag[0]["reasons"]) == ["gate.tag"]
    logged = {(r["ref"], r["rule"]) for e in entries(service, "ref.updated") for r in e["payload"]["refs"]}
    assert {("refs/tags/build-7", "tag"), ("refs/notes/commits", "listed")} <= logged
    log_verifies(repo)


def test_break_glass_deletion_is_an_emergency_change_request(repo: Repo, service: Service) -> None:
    """Item 4: deleting a protected branch under break-glass opens a CR with a deadline and a register row."""
    bootstrap(repo, service)
    main = ref(repo, "refs/heads/main")
    assert push_many(repo, f"{main}:refs/heads/release/1").ok  # an exact copy of main
    r = push_many(repo, ":refs/heads/release/1", user="erin", options=("gatekeeper.emergency=wrong release",))
    assert r.ok and "retrospective approval due by" in r.text(), r.stderr
    [em] = [e["payload"] for e in entries(service, "emergency.deployed")]
    assert em["change_id"] and em["deadline"] and em["new"] == "0" * 40
    cr = service.get(f"/api/v1/changes/{em['change_id']}", "carol").json()
    assert cr["state"] == "emergency" and cr["title"].startswith(f"deletion of refs/heads/release/1 (was {main[:12]})")
    reg = service.get("/api/v1/audit/register?from=2000-01-01&to=2100-12-31&format=json", "dave").json()
    row = next(x for x in reg if x["change_id"] == em["change_id"])
    assert row["emergency"] in (True, "yes", "true") and row["retro_overdue"] in (False, "no", "false")
    assert service.sign(em["change_id"], "carol").status_code == 201  # retrospective approval
    assert service.get(f"/api/v1/changes/{em['change_id']}", "carol").json()["state"] == "retro-approved"
    log_verifies(repo)


def test_an_approval_is_for_the_ticket_it_was_signed_for(repo: Repo, service: Service) -> None:
    """Item 5: carol approves with CHG0000001; alice re-pushes the same content with another ticket."""
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/t.txt": "T\n"}, "topic-t", options=("gatekeeper.ticket=CHG0000001",
                                                                 "gatekeeper.title=Raise TT-101"))
    assert service.sign(cid, "carol").status_code == 201
    [approved] = [e["payload"] for e in entries(service, "change.approved") if e["payload"]["change_id"] == cid]
    assert (approved["ticket"], approved["title"], approved["target"]) == ("CHG0000001", "Raise TT-101", "main")
    git(repo.work, "commit", "-q", "--amend", "-m", "same content, another commit")  # the same fingerprint
    r = repo.push("+HEAD:refs/heads/topic-t", options=("gatekeeper.ticket=CHG0000002",))
    assert r.ok and f"change request {cid} revised" in r.text(), r.stderr
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["state"] == "pending" and cr["ticket"] == "CHG0000002" and cr["revision"] == 2
    [revised] = [e["payload"] for e in entries(service, "change.revised") if e["payload"]["change_id"] == cid]
    assert revised["ticket_changed"] is True and revised["approvals_kept"] is False
    assert not repo.push("HEAD:refs/heads/main").ok  # carol's approval was for another ticket
    assert [a["ticket"] for a in cr["approvals"]] == ["CHG0000001"] and not cr["approvals"][0]["counts"]


def test_commit_identities_nobody_is_block_and_look_alikes_are_named(repo: Repo, service: Service) -> None:
    """Item 6: carol+ot@, a Cyrillic а, a zero-width space, a sub-domain; a bare-name co-author."""
    bootstrap(repo, service)
    repo.checkout("ids", create=True)
    commit_as(repo, {"cfg/1.txt": "1\n"}, ("Carol Lead", "carol+ot@plant.example"))
    commit_as(repo, {"cfg/2.txt": "2\n"}, ("Alice Engineer", "alice@plant.example"),
              ("Carol", "c\u0430rol@plant.example"))
    commit_as(repo, {"cfg/3.txt": "3\n"}, ("Alice Engineer", "ali\u200bce@plant.example"))
    commit_as(repo, {"cfg/4.txt": "4\n"}, ("Alice Engineer", "alice@ot.plant.example"))
    r = repo.push("HEAD:refs/heads/ids")
    assert r.ok, r.stderr
    cid = r.change_id()
    cr = service.get(f"/api/v1/changes/{cid}", "gina").json()
    found = codes(cr["sod_findings"])
    assert "sod.unknown_commit_identity" in found and "sod.lookalike_identity" in found
    assert "sod.hidden_characters" in found
    text = " ".join(f["message"] for f in cr["sod_findings"])
    assert "looks like carol" in text and "U+200B ZERO WIDTH SPACE" in text
    refused = service.sign(cid, "gina")
    assert refused.status_code == 403 and "sod.unknown_commit_identity" in refused.text
    carol = service.sign(cid, "carol")
    assert carol.status_code == 403 and "sod.self" in carol.text  # her look-alikes count as her
    # A bare-name co-author the directory knows by exactly that name is that person.
    repo.checkout("pair", create=True, start="origin/main")
    repo.commit({"cfg/p.txt": "p\n"}, "pair", trailers="Co-authored-by: Gina Lead")
    cid = repo.push("HEAD:refs/heads/pair").change_id()
    gina = service.sign(cid, "gina")
    assert gina.status_code == 403 and "co-author" in gina.text


def test_the_hooks_show_control_characters_escaped(repo: Repo, service: Service) -> None:
    """Hook lines: a file name holding an escape sequence cannot rewrite the pusher's terminal."""
    bootstrap(repo, service)
    git(repo.work, "checkout", "-q", "main")
    repo.commit({"cfg/\x1b[2Jallowed.txt": "x\n"}, "escape")
    r = repo.push("HEAD:refs/heads/main")
    assert not r.ok and "cfg/\\x1b[2Jallowed.txt" in r.text(), r.stderr
    assert "\x1b" not in r.stderr
