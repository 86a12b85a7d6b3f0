"""Issue 11 items 1, 6, 7, 8 reproduced through real pushes, real hooks and the real service (SPEC §11)."""

from __future__ import annotations

import json
import stat
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_flow import bootstrap, open_cr
from tests.support.git import PushResult, Repo, gatekeeper, git, no_git_env
from tests.support.plant import GROUPS
from tests.support.service import HOOK_TOKEN, Service

pytestmark = pytest.mark.e2e


def push_many(repo: Repo, *refspecs: str, user: str = "alice", options: tuple[str, ...] = (),
              work: Path | None = None) -> PushResult:
    """One real ``git push`` carrying several refspecs (one receive-pack, one pre- and post-receive)."""
    env = no_git_env({"GATEKEEPER_HOOK_TOKEN": HOOK_TOKEN, "GATEKEEPER_USER": user})
    args = ["git", "push", "--porcelain", *(a for o in options for a in ("-o", o)), "origin", *refspecs]
    proc = subprocess.run(args, cwd=work or repo.work, env=env, capture_output=True, text=True)
    lines = [ln.split("gatekeeper: ", 1)[1].rstrip() for ln in proc.stderr.splitlines() if "gatekeeper: " in ln]
    return PushResult(proc.returncode, lines, proc.stderr)


def entries(service: Service, kind: str | None = None) -> list[dict[str, Any]]:
    out = service.get("/api/v1/log?limit=1000", "dave").json()["entries"]
    return [e for e in out if kind is None or e["kind"] == kind]


def hook(repo: Repo, name: str, body: str) -> Path:
    path = repo.bare / "hooks" / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def ref(repo: Repo, name: str) -> str:
    return git(repo.bare, "rev-parse", name)


def log_verifies(repo: Repo) -> None:
    rc = gatekeeper(repo.plant, "log", "verify")
    assert rc.returncode == 0, rc.stderr


def test_one_push_deploying_rev1_and_moving_the_topic_to_rev2_records_rev1(repo: Repo, service: Service) -> None:
    """Item 1: main → approved revision 1 and the topic → unapproved revision 2 in one push."""
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/setpoint.txt": "TT-101 85\n"}, "tt101")
    rev1 = repo.head()
    fp1 = service.get(f"/api/v1/changes/{cid}", "carol").json()["revisions"][0]["fingerprint"]
    assert service.sign(cid, "carol").status_code == 201
    rev2 = repo.commit({"cfg/setpoint.txt": "TT-101 99\n"}, "unapproved follow-up")
    r = push_many(repo, f"{rev1}:refs/heads/main", f"{rev2}:refs/heads/tt101")
    assert r.ok, r.stderr
    assert ref(repo, "refs/heads/main") == rev1
    deployed = [e for e in entries(service, "change.deployed") if e["payload"]["change_id"] == cid]
    assert len(deployed) == 1
    p = deployed[0]["payload"]
    assert (p["revision"], p["fingerprint"], p["new"]) == (1, fp1, rev1)
    assert {a["username"] for a in p["approvals"]} == {"carol"}
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["state"] == "deployed" and cr["deployed_commit"] == rev1
    assert [rv["fingerprint"] for rv in cr["revisions"]] == [fp1]  # revision 2 went to a new CR
    reg = service.get("/api/v1/audit/register?from=2000-01-01&to=2100-12-31&format=json", "dave").json()
    row = next(x for x in reg if x["change_id"] == cid)
    assert (row["revision"], row["fingerprint"]) == (1, fp1)
    assert "opened" in r.text()  # the topic's new content is a new change request, unapproved
    log_verifies(repo)


def test_an_update_hook_refusing_main_leaves_no_allowed_entry_and_voids_the_intent(
        repo: Repo, service: Service) -> None:
    """Item 7: the gate allows, git does not update (an ``update`` hook refuses): the log says so."""
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/a.txt": "A\n"}, "topic-a")
    assert service.sign(cid, "carol").status_code == 201
    before = len(entries(service, "push.allowed"))
    refuse = hook(repo, "update", 'case "$1" in refs/heads/main) echo "frozen" >&2; exit 1;; esac\nexit 0\n')
    head = repo.head()
    # With a topic ref in the same push post-receive runs and voids the intent by its id.
    r = push_many(repo, f"{head}:refs/heads/main", f"{head}:refs/heads/other")
    assert ref(repo, "refs/heads/main") != head
    voided = entries(service, "deploy.voided")
    assert len(voided) == 1 and voided[0]["payload"]["settled_by"] == "post-receive", r.stderr
    assert voided[0]["payload"]["change_ids"] == [cid]
    # Only main: git runs no post-receive; the next hook run on the repo settles the intent.
    r = push_many(repo, f"{head}:refs/heads/main")
    assert not r.ok
    intents = [e for e in entries(service, "deploy.intent") if e["payload"]["ref"] == "refs/heads/main"]
    assert len(intents) == 3  # bootstrap + the two attempts
    git(repo.work, "checkout", "-q", "-b", "unrelated", "main")
    repo.commit({"docs/n.md": "n\n"}, "note")
    assert repo.push("HEAD:refs/heads/unrelated").ok
    voided = entries(service, "deploy.voided")
    assert len(voided) == 2 and voided[1]["payload"]["settled_by"] == "hook"
    assert voided[1]["payload"]["actual"] == ref(repo, "refs/heads/main")
    assert len(entries(service, "push.allowed")) == before
    assert not [e for e in entries(service, "change.deployed") if e["payload"]["change_id"] == cid]
    assert service.get(f"/api/v1/changes/{cid}", "carol").json()["state"] == "approved"
    refuse.unlink()
    r = push_many(repo, f"{head}:refs/heads/main")
    assert r.ok, r.stderr
    assert [e["payload"]["change_id"] for e in entries(service, "change.deployed")][-1] == cid
    log_verifies(repo)


def test_concurrent_pushers_log_push_allowed_only_for_updates_git_made(repo: Repo, service: Service) -> None:
    """Item 7 under a race: several pushers move main from the same tip; one wins."""
    bootstrap(repo, service)
    base = ref(repo, "refs/heads/main")
    clones = []
    for i in range(4):
        work = repo.plant.dir / f"racer-{i}"
        git(repo.plant.dir, "clone", "-q", str(repo.bare), str(work))
        git(work, "checkout", "-q", "main")
        (work / "docs").mkdir(exist_ok=True)
        (work / "docs" / f"racer-{i}.md").write_text(f"racer {i}\n")
        git(work, "add", "-A")
        git(work, "-c", "user.name=A", "-c", "user.email=alice@plant.example", "commit", "-q", "-m", f"r{i}")
        clones.append(work)
    results: list[PushResult] = []
    threads = [threading.Thread(target=lambda w=w: results.append(push_many(repo, "HEAD:refs/heads/main", work=w)))
               for w in clones]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results if r.ok]
    assert len(won) >= 1 and ref(repo, "refs/heads/main") != base
    # A later hook run settles the losers' intents (their post-receive never ran).
    git(repo.work, "checkout", "-q", "-b", "later", "main")
    repo.commit({"docs/later.md": "x\n"}, "later")
    assert repo.push("HEAD:refs/heads/later").ok
    main_updates = [e for e in entries(service, "change.deployed") if e["payload"]["ref"] == "refs/heads/main"
                    and e["payload"]["old"] == base]
    assert len(main_updates) == len(won) == 1
    allowed = [e for e in entries(service, "push.allowed")
               if any(r["ref"] == "refs/heads/main" and r["old"] == base for r in e["payload"]["refs"])]
    assert len(allowed) == 1
    intents = [e for e in entries(service, "deploy.intent") if e["payload"]["old"] == base]
    voided = [e for e in entries(service, "deploy.voided") if e["payload"]["old"] == base]
    assert len(voided) == len(intents) - 1
    log_verifies(repo)


def test_emergency_is_decided_once_even_if_membership_changes_before_post_receive(
        repo: Repo, service: Service) -> None:
    """Item 6: erin leaves ot-emergency between pre- and post-receive; still an emergency deployment."""
    bootstrap(repo, service)
    git(repo.work, "checkout", "-q", "main")
    repo.commit({"cfg/dosing.txt": "revert\n"}, "revert dosing", author="erin")
    groups = {**GROUPS, "ot-emergency": ([], [])}
    without = repo.plant.dir / "directory-without-erin.toml"
    from tests.support.plant import directory_toml

    without.write_text(directory_toml(groups=groups))
    hook(repo, "post-receive.chained", f'cat > /dev/null\ncp "{without}" "{repo.plant.directory}"\n')
    r = repo.push("HEAD:refs/heads/main", user="erin", options=("gatekeeper.emergency=line 3 down",))
    assert r.ok, r.stderr
    em = entries(service, "emergency.deployed")
    assert len(em) == 1 and em[0]["payload"]["reason"] == "line 3 down"
    assert em[0]["payload"]["memberships"][0]["group"] == "ot-emergency"
    assert em[0]["payload"]["change_id"] is not None
    cr = service.get(f"/api/v1/changes/{em[0]['payload']['change_id']}", "carol").json()
    assert cr["state"] == "emergency"
    log_verifies(repo)


def test_emergency_is_recorded_when_the_directory_fails_before_post_receive(repo: Repo, service: Service) -> None:
    """Item 6: a directory outage after the gate still records the break-glass deployment."""
    bootstrap(repo, service)
    git(repo.work, "checkout", "-q", "main")
    repo.commit({"cfg/dosing.txt": "revert\n"}, "revert dosing", author="erin")
    saved = repo.plant.directory.read_text()
    hook(repo, "post-receive.chained", f'cat > /dev/null\nrm -f "{repo.plant.directory}"\n')
    r = repo.push("HEAD:refs/heads/main", user="erin", options=("gatekeeper.emergency=line 3 down",))
    assert r.ok, r.stderr
    repo.plant.directory.write_text(saved)  # back, so the auditor can read the log
    em = entries(service, "emergency.deployed")
    assert len(em) == 1 and em[0]["payload"]["new"] == ref(repo, "refs/heads/main")
    assert "opened without the directory's review" in em[0]["payload"]["note"]
    assert em[0]["payload"]["change_id"] is not None  # still an emergency CR (issue 22 item 4)


def test_service_dying_between_pre_and_post_receive_loses_no_deployment(repo: Repo, service: Service) -> None:
    """Item 8: the service dies after the gate; the next hook run confirms the intent from the ref."""
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/b.txt": "B\n"}, "topic-b")
    assert service.sign(cid, "carol").status_code == 201
    assert service.proc is not None
    hook(repo, "post-receive.chained", f"cat > /dev/null\nkill {service.proc.pid}\nsleep 1\n")
    r = repo.push("HEAD:refs/heads/main")
    assert r.ok and ref(repo, "refs/heads/main") == repo.head(), r.stderr
    assert any("not recorded" in ln or "could not report" in ln or "unreachable" in ln for ln in r.lines), r.lines
    assert list((repo.bare / "gatekeeper" / "intents").glob("*.json"))
    (repo.bare / "hooks" / "post-receive.chained").unlink()
    service.proc.wait(10)
    service.start()
    assert service.get(f"/api/v1/changes/{cid}", "carol").json()["state"] == "approved"  # the intent is open
    assert repo.push("HEAD:refs/heads/main").lines == []  # "up to date": git runs no hook at all
    git(repo.work, "checkout", "-q", "-b", "next", "main")
    repo.commit({"docs/x.md": "x\n"}, "x")
    r = repo.push("HEAD:refs/heads/next")
    assert r.ok, r.stderr
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["state"] == "deployed"
    dep = [e for e in entries(service, "change.deployed") if e["payload"]["change_id"] == cid]
    assert len(dep) == 1 and dep[0]["payload"]["settled_by"] == "hook" and "later hook run" in dep[0]["payload"]["note"]
    assert not list((repo.bare / "gatekeeper" / "intents").glob("*.json"))
    log_verifies(repo)


def test_reconcile_settles_an_open_intent(repo: Repo, service: Service) -> None:
    """Item 8: ``gatekeeper audit reconcile`` confirms an intent the hooks could not."""
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/c.txt": "C\n"}, "topic-c")
    assert service.sign(cid, "carol").status_code == 201
    assert service.proc is not None
    hook(repo, "post-receive.chained", f"cat > /dev/null\nkill {service.proc.pid}\nsleep 1\n")
    assert repo.push("HEAD:refs/heads/main").ok
    service.proc.wait(10)
    rc = gatekeeper(repo.plant, "audit", "reconcile", "--repo", str(repo.bare), "--branch", "main",
                    "--from", "2000-01-01", "--to", "2100-12-31")
    assert "SETTLED deploy intent" in rc.stdout and "confirmed" in rc.stdout, rc.stdout + rc.stderr
    assert "UNMATCHED" not in rc.stdout
    service.start()
    assert service.get(f"/api/v1/changes/{cid}", "carol").json()["state"] == "deployed"
    dep = [e for e in entries(service, "change.deployed") if e["payload"]["change_id"] == cid]
    assert dep[0]["payload"]["settled_by"] == "reconcile"


def test_refusals_made_while_the_service_is_down_are_spooled_and_delivered(repo: Repo, service: Service) -> None:
    """Item 8: a fail-closed refusal without the service reaches the log and exceptions.csv later."""
    bootstrap(repo, service)
    git(repo.work, "checkout", "-q", "main")
    repo.commit({"cfg/d.txt": "D\n"}, "unapproved")
    service.stop()
    r = repo.push("HEAD:refs/heads/main", user="mallory")
    assert not r.ok and any("fail closed" in ln for ln in r.lines)
    spooled = list((repo.bare / "gatekeeper" / "spool").glob("*.json"))
    sealed = json.loads(spooled[0].read_text())  # sealed with the hook token (issue 22 item 2)
    assert len(spooled) == 1 and sealed["record"]["pusher"] == "mallory" and sealed["mac"]
    service.start()
    git(repo.work, "checkout", "-q", "-b", "t2", "main")
    assert repo.push("HEAD:refs/heads/t2").ok
    refused = [e for e in entries(service, "push.refused") if e["payload"].get("spooled")]
    assert len(refused) == 1 and refused[0]["actor"] == "mallory"
    assert refused[0]["payload"]["refs"][0]["ref"] == "refs/heads/main"
    assert not list((repo.bare / "gatekeeper" / "spool").glob("*.json"))
    ex = gatekeeper(repo.plant, "audit", "export", "--from", "2000-01-01", "--to", "2100-12-31", "--format", "zip",
                    "-o", str(repo.plant.dir / "pack.zip"), env={"GATEKEEPER_SECRET_KEY": "x"})
    assert ex.returncode == 0, ex.stderr
    import zipfile

    with zipfile.ZipFile(repo.plant.dir / "pack.zip") as z:
        rows = z.read("exceptions.csv").decode()
    assert "while the service was unreachable" in rows and "mallory" in rows


def test_a_racing_topic_push_between_gate_and_record_does_not_change_what_is_recorded(
        repo: Repo, service: Service) -> None:
    """Item 1, the race: the topic moves to revision 2 after the gate checked revision 1, before post-receive."""
    bootstrap(repo, service)
    cid = open_cr(repo, {"cfg/race.txt": "1\n"}, "race")
    rev1 = repo.head()
    fp1 = service.get(f"/api/v1/changes/{cid}", "carol").json()["revisions"][0]["fingerprint"]
    assert service.sign(cid, "carol").status_code == 201
    rev2 = repo.commit({"cfg/race.txt": "2\n"}, "unapproved")
    racer = (f"cat > /dev/null\nfor v in $(env | grep '^GIT_' | cut -d= -f1); do unset $v; done\n"
             f"cd '{repo.work}' && GATEKEEPER_USER=alice GATEKEEPER_HOOK_TOKEN={HOOK_TOKEN} "
             f"git push -q origin {rev2}:refs/heads/race >/dev/null 2>&1\n")
    hook(repo, "post-receive.chained", racer)
    r = push_many(repo, f"{rev1}:refs/heads/main")
    assert r.ok, r.stderr
    assert ref(repo, "refs/heads/race") == rev2  # the racing push happened in between
    dep = [e for e in entries(service, "change.deployed") if e["payload"]["change_id"] == cid]
    assert len(dep) == 1 and (dep[0]["payload"]["revision"], dep[0]["payload"]["fingerprint"]) == (1, fp1)
    cr = service.get(f"/api/v1/changes/{cid}", "carol").json()
    assert cr["state"] == "deployed" and [rv["number"] for rv in cr["revisions"]] == [1]
    log_verifies(repo)
