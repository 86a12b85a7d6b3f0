"""A hypothesis state machine of the control against a real repo, real hooks and the real service (issue 11).

Random topic pushes, rebases, approvals, rejections, directory membership changes, emergency pushes,
protected pushes (several refs per push), tag pushes (protected ``v*`` and unprotected), break-glass
deletions of a protected branch, ticket changes and commits by identities no directory user has
(issue 22). Invariants, checked at the end of each run:
- every update git made to ``main`` is covered by exactly one confirmed deploy intent, and every
  deployment entry of that update names it; reconciliation finds no commit of ``main`` unmatched;
- every recorded deployment names the fingerprint the gate checked (its intent's), which is the
  fingerprint of that CR revision, with approvals that satisfied the rules and SoD at the gate;
- no ``push.allowed`` names an update that did not happen; the log verifies;
- every ``change.deployed`` / ``emergency.deployed`` names an update git really made to that ref (so
  content the ref really held), and every ref update git made, on any ref, is in the log;
- every approval a deployment counted was signed for the ticket of the revision it deployed; no
  change with a commit identity nobody in the directory has is deployed through the gate; every
  break-glass update is an emergency change request.
Bounded (three runs of up to ten steps, no deadline) so it stays well under a minute.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from tests.e2e.test_flow import bootstrap
from tests.support.git import Repo, gatekeeper, git, make_repo, no_git_env
from tests.support.plant import GROUPS, USERS, make_plant, with_ref_rules
from tests.support.service import Service, service_env

pytestmark = pytest.mark.e2e

TOPICS = ("t0", "t1", "t2")
NULL = "0" * 40
FOREIGN = (("Jane Integrator", "jane@integrator.example"), ("Carol Lead", "carol+ot@plant.example"),
           ("Carol Lead", "c\u0430rol@plant.example"))
FILES = ("cfg/a.txt", "cfg/b.txt", "docs/d.md", "erp/e.txt")


class Control(RuleBasedStateMachine):
    base: Path

    def __init__(self) -> None:
        super().__init__()
        self.run_dir = Control.base / f"run{id(self)}"
        self.plant = with_ref_rules(make_plant(self.run_dir))
        self.service = Service(self.plant, env=service_env())
        self.service.start()
        self.repo: Repo = make_repo(self.plant)
        self.groups = {k: (list(v[0]), list(v[1])) for k, v in GROUPS.items()}
        self.cr: dict[str, int] = {}
        self.updates: list[tuple[str, str]] = []   # (old, new) of every update git made to main
        self.ref_updates: set[tuple[str, str, str]] = set()   # (ref, old, new) of every update git made
        self.n = 0

    @initialize()
    def boot(self) -> None:
        old, before = self.main(), self.refs()
        bootstrap(self.repo, self.service)
        self.updates.append((old, self.main()))
        self.observe(before)
        # Every run starts with three open CRs, one approved, so short runs still reach the gate.
        for topic, path in zip(TOPICS, ("cfg/a.txt", "erp/e.txt", "cfg/b.txt"), strict=True):
            self.sync(topic)
            self.edit(path, topic)
            self.push(f"HEAD:refs/heads/{topic}")
        self.service.sign(self.cr["t0"], "carol")

    # --- helpers ---------------------------------------------------------------------------------
    def main(self) -> str:
        return git(self.repo.bare, "rev-parse", "-q", "--verify", "refs/heads/main", check=False) or "0" * 40

    def sync(self, branch: str) -> None:
        git(self.repo.work, "fetch", "-q", "origin")
        exists = git(self.repo.work, "rev-parse", "-q", "--verify", f"origin/{branch}", check=False)
        git(self.repo.work, "checkout", "-q", "-f", "-B", branch, f"origin/{branch}" if exists else "origin/main")

    def track(self, old: str, result: Any, refspecs: tuple[str, ...]) -> None:
        new = self.main()
        if new != old:
            self.updates.append((old, new))
        topics = [r.rsplit("refs/heads/", 1)[1] for r in refspecs if r.rsplit("refs/heads/", 1)[-1] in TOPICS]
        for line in result.lines:
            m = re.match(r"change request (\d+) (opened|revised)", line)
            if m and topics:
                self.cr[topics[0]] = int(m.group(1))

    def refs(self) -> dict[str, str]:
        out = git(self.repo.bare, "for-each-ref", "--format=%(refname) %(objectname)")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def push(self, *refspecs: str, user: str = "alice", options: tuple[str, ...] = ()) -> Any:
        from tests.e2e.test_deploy_intents import push_many

        old, before = self.main(), self.refs()
        result = push_many(self.repo, *refspecs, user=user, options=options)
        self.track(old, result, refspecs)
        self.observe(before)
        return result

    def observe(self, before: dict[str, str]) -> None:
        """Every ref update git made since ``before`` (one push: each ref moves at most once)."""
        after = self.refs()
        for name in set(before) | set(after):
            if before.get(name) != after.get(name):
                self.ref_updates.add((name, before.get(name, NULL), after.get(name, NULL)))

    def edit(self, path: str, content: str, author: str = "alice", identity: tuple[str, str] | None = None) -> str:
        self.n += 1
        if identity is None:
            return self.repo.commit({path: f"{content} {self.n}\n"}, f"edit {path} #{self.n}", author=author)
        (self.repo.work / path).parent.mkdir(parents=True, exist_ok=True)
        (self.repo.work / path).write_text(f"{content} {self.n}\n")
        git(self.repo.work, "add", "-A")
        git(self.repo.work, "commit", "-q", "-m", f"edit {path} #{self.n}", env=no_git_env({
            "GIT_AUTHOR_NAME": identity[0], "GIT_AUTHOR_EMAIL": identity[1],
            "GIT_COMMITTER_NAME": "Alice Engineer", "GIT_COMMITTER_EMAIL": "alice@plant.example"}))
        return self.repo.head()

    # --- rules -----------------------------------------------------------------------------------
    @rule(topic=st.sampled_from(TOPICS), path=st.sampled_from(FILES), content=st.sampled_from("xyz"))
    def topic_push(self, topic: str, path: str, content: str) -> None:
        self.sync(topic)
        self.edit(path, content)
        self.push(f"HEAD:refs/heads/{topic}")

    @rule(topic=st.sampled_from(TOPICS))
    def rebase(self, topic: str) -> None:
        self.sync(topic)
        if subprocess.run(["git", "rebase", "-q", "origin/main"], cwd=self.repo.work, capture_output=True).returncode:
            git(self.repo.work, "rebase", "--abort", check=False)
            return
        self.push(f"+HEAD:refs/heads/{topic}")

    @rule(topic=st.sampled_from(TOPICS), who=st.sampled_from(("carol", "gina", "bob", "alice")))
    def approve(self, topic: str, who: str) -> None:
        if topic in self.cr:
            self.service.sign(self.cr[topic], who)

    @rule(topic=st.sampled_from(TOPICS))
    def reject(self, topic: str) -> None:
        if topic in self.cr:
            self.service.sign(self.cr[topic], "gina", decision="reject", comment="no")

    @rule(who=st.sampled_from(("carol", "gina", "erin")), member=st.booleans())
    def membership(self, who: str, member: bool) -> None:
        group = "ot-emergency" if who == "erin" else "ot-engineering-leads"
        members = [m for m in self.groups[group][0] if m != who] + ([who] if member else [])
        self.groups[group] = (members, self.groups[group][1])
        self.plant.write_directory(self.groups)

    @rule(who=st.sampled_from(("erin", "alice")), path=st.sampled_from(FILES))
    def emergency_push(self, who: str, path: str) -> None:
        self.sync("main")
        self.edit(path, "hotfix", author="erin")
        self.push("HEAD:refs/heads/main", user=who, options=("gatekeeper.emergency=line down",))

    @rule(topics=st.lists(st.sampled_from(TOPICS), min_size=1, max_size=2, unique=True), move_topic=st.booleans())
    def protected_push(self, topics: list[str], move_topic: bool) -> None:
        self.sync("main")
        merged = []
        for t in topics:
            if git(self.repo.work, "rev-parse", "-q", "--verify", f"origin/{t}", check=False):
                if subprocess.run(["git", "merge", "-q", "--no-ff", "--no-edit", f"origin/{t}"], cwd=self.repo.work,
                                  capture_output=True).returncode:
                    git(self.repo.work, "merge", "--abort", check=False)
                else:
                    merged.append(t)
        if not merged:
            return
        refspecs = [f"{self.repo.head()}:refs/heads/main"]
        if move_topic:  # the same push also moves the topic to new, unapproved content (item 1)
            integ = self.repo.head()
            self.sync(merged[0])
            refspecs.append(f"{self.edit('cfg/a.txt', 'later')}:refs/heads/{merged[0]}")
            refspecs[0] = f"{integ}:refs/heads/main"
        self.push(*refspecs)

    @rule(tag=st.sampled_from(("v1", "v2", "build")), on=st.sampled_from(("main", *TOPICS)))
    def tag_push(self, tag: str, on: str) -> None:
        """Protected tags only on content main holds, never moved; other tags accepted and logged."""
        git(self.repo.work, "fetch", "-q", "origin")
        sha = git(self.repo.work, "rev-parse", "-q", "--verify", f"origin/{on}", check=False)
        if sha:
            self.push(f"+{sha}:refs/tags/{tag}")

    @rule(who=st.sampled_from(("erin", "alice")))
    def emergency_delete(self, who: str) -> None:
        """A protected branch deleted under break-glass: an emergency CR (issue 22 item 4)."""
        if "refs/heads/release/1" not in self.refs():
            self.push(f"{self.main()}:refs/heads/release/1")  # an exact copy of main
        self.push(":refs/heads/release/1", user=who, options=("gatekeeper.emergency=wrong release",))

    @rule(topic=st.sampled_from(TOPICS), ticket=st.sampled_from(("CHG0000001", "CHG0000002")))
    def ticket_change(self, topic: str, ticket: str) -> None:
        """The same content re-pushed with another ticket: a new revision to approve (item 5)."""
        if topic not in self.cr:
            return
        self.sync(topic)
        self.n += 1
        git(self.repo.work, "commit", "-q", "--amend", "-m", f"same content #{self.n}")
        self.push(f"+HEAD:refs/heads/{topic}", options=(f"gatekeeper.ticket={ticket}",))

    @rule(topic=st.sampled_from(TOPICS), who=st.sampled_from(FOREIGN), path=st.sampled_from(FILES))
    def foreign_identity(self, topic: str, who: tuple[str, str], path: str) -> None:
        """A commit by an identity no directory user has (an integrator, a look-alike of carol)."""
        self.sync(topic)
        self.edit(path, "foreign", identity=who)
        self.push(f"HEAD:refs/heads/{topic}")

    def teardown(self) -> None:
        try:
            self.check()
        finally:
            self.service.stop()

    # --- invariants ------------------------------------------------------------------------------
    def check(self) -> None:
        entries = self.service.get("/api/v1/log?limit=1000", "dave").json()["entries"]
        main = "refs/heads/main"
        intents = {e["payload"]["intent_id"]: e["payload"] for e in entries if e["kind"] == "deploy.intent"}
        deployed = [e for e in entries if e["kind"] in ("change.deployed", "emergency.deployed")
                    and e["payload"]["ref"] == main]
        by_update: dict[tuple[str, str], set[Any]] = {}
        for e in deployed:
            p = e["payload"]
            by_update.setdefault((p["old"], p["new"]), set()).add(p.get("intent_id"))
        assert set(by_update) == set(self.updates), (by_update, self.updates)
        for update, ids in by_update.items():
            assert len(ids) == 1 and None not in ids, (update, ids)  # exactly one confirmed gate decision
        for e in deployed:
            p = e["payload"]
            if e["kind"] != "change.deployed" or p["change_id"] is None:
                continue
            counted = next(c for c in intents[p["intent_id"]]["changes"] if c["change_id"] == p["change_id"])
            assert (p["fingerprint"], p["revision"]) == (counted["fingerprint"], counted["revision"])
            cr = self.service.get(f"/api/v1/changes/{p['change_id']}", "dave").json()
            rev = next(r for r in cr["revisions"] if r["number"] == p["revision"])
            assert rev["fingerprint"] == p["fingerprint"]
            have = Counter(a["group"] for a in p["approvals"])
            assert all(have[r["group"]] >= r["count"] for r in cr["approvals_required"]), (p, cr["approvals_required"])
            takers = {r["pushed_by"] for r in cr["revisions"]}
            emails = {c[k] for r in cr["revisions"] for c in r["commits"] for k in ("author_email", "committer_email")}
            takers |= {u for u, (_, mail) in USERS.items() if mail in emails}
            approvers = [a["username"] for a in p["approvals"]]
            assert not takers & set(approvers) and len(approvers) == len(set(approvers)), (takers, approvers)
        for e in entries:
            if e["kind"] == "push.allowed":
                for r in e["payload"]["refs"]:
                    if r["ref"] == main:
                        assert (r["old"], r["new"]) in self.updates
        self.check_refs(entries)
        rc = gatekeeper(self.plant, "log", "verify")
        assert rc.returncode == 0, rc.stderr
        rc = gatekeeper(self.plant, "audit", "reconcile", "--repo", str(self.repo.bare), "--branch", "main",
                        "--from", "2000-01-01", "--to", "2100-12-31")
        assert rc.returncode == 0 and "UNMATCHED" not in rc.stdout, rc.stdout + rc.stderr


    def check_refs(self, entries: list[dict[str, Any]]) -> None:
        """Issue 22: deployments name updates git made; every ref update is in the log."""
        logged: set[tuple[str, str, str]] = set()
        for e in entries:
            p = e["payload"]
            if e["kind"] in ("change.deployed", "emergency.deployed"):
                assert (p["ref"], p["old"], p["new"]) in self.ref_updates, (e, self.ref_updates)
                logged.add((p["ref"], p["old"], p["new"]))
                if e["kind"] == "emergency.deployed":
                    assert p["change_id"] is not None and p["deadline"], p  # every break-glass update is a CR
            elif e["kind"] == "ref.updated":
                logged.update((r["ref"], r["old"], r["new"]) for r in p["refs"])
            elif e["kind"] in ("change.opened", "change.revised"):
                logged.update((p["topic_ref"], old, new) for ref, old, new in self.ref_updates
                              if ref == p["topic_ref"] and new == p["head"])
        assert self.ref_updates <= logged, self.ref_updates - logged
        signed = [e["payload"] for e in entries if e["kind"] == "change.approved"]
        for e in entries:
            p = e["payload"]
            if e["kind"] != "change.deployed" or p["change_id"] is None:
                continue
            cr = self.service.get(f"/api/v1/changes/{p['change_id']}", "dave").json()
            rev = next(r for r in cr["revisions"] if r["number"] == p["revision"])
            for a in p["approvals"]:
                sig = [s for s in signed if s["change_id"] == p["change_id"] and s["signer"] == a["username"]
                       and s["fingerprint"] == p["fingerprint"]][-1]
                assert sig.get("ticket") == rev["ticket"], (sig, rev)
            emails = {c[k] for r in cr["revisions"] for c in r["commits"] for k in ("author_email", "committer_email")}
            assert emails <= {mail for _, mail in USERS.values()}, emails  # unknown identities block


def test_the_control_holds_under_random_pushes(tmp_path: Path) -> None:
    Control.base = tmp_path
    run_state_machine_as_test(Control, settings=settings(
        max_examples=3, stateful_step_count=10, deadline=None, database=None, suppress_health_check=list(HealthCheck)),
        _min_steps=6)  # the first run is hypothesis's simplest; the others draw real sequences
