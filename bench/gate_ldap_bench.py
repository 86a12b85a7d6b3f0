"""The gate for a CR with 3 approvers against a real slapd (issue 6): the pre-receive call, which
re-checks every approval in the directory, timed cold (first call after start) and warm."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper.gitio.hookconfig import load
from gatekeeper.gitio.pushinfo import RefUpdate
from gatekeeper.gitio.receive import PayloadBuilder
from tests.e2e.test_ldap_flow import auth, ldap_policy
from tests.support import slapd as ldap
from tests.support.git import git, make_repo
from tests.support.plant import make_plant
from tests.support.service import HOOK_TOKEN, running


def main() -> None:
    with ldap.running_slapd() as server, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        # Three rules, three approvers: finance (bob), OT lead (carol), ot-staff via nesting (erin).
        policy = ldap_policy(server).replace('paths = ["notes/**"]', 'paths = ["erp/**", "notes/**"]')
        plant = make_plant(Path(d) / "plant", policy=policy)
        env = {"GK_TEST_LDAP_PW": ldap.SERVICE_PASSWORD}
        with running(plant, env=env) as svc:
            repo = make_repo(plant)
            repo.checkout("three", create=True)
            repo.commit({"erp/postings.txt": "FT-204 L\n"}, "three approvers")
            cid = repo.push("HEAD:refs/heads/three").change_id()
            for user in ("bob", "carol", "erin"):
                r = requests.post(f"{svc.url}/api/v1/changes/{cid}/approvals", auth=auth(user), timeout=30,
                                  json={"decision": "approve"})
                assert r.status_code == 201, r.text
            cfg = load(str(plant.config))
            cwd = os.getcwd()
            os.chdir(repo.work)
            head = git(repo.work, "rev-parse", "HEAD")
            body = {"repo": "plant-a-ot", "pusher": "alice", "push_options": [], "updates": [
                PayloadBuilder(cfg, "plant-a-ot", []).update(
                    RefUpdate("0" * 40, head, "refs/heads/main"), with_content=False)]}
            os.chdir(cwd)
            body["updates"][0].update({"protected_exists": False})
            data = json.dumps(body)
            headers = {"Authorization": f"Bearer {HOOK_TOKEN}", "Content-Type": "application/json"}
        with running(plant, env=env) as svc:  # a fresh service: its first call opens the LDAP connections
            times = []
            for _ in range(21):
                t = time.perf_counter()
                r = requests.post(svc.url + "/api/v1/hooks/pre-receive", data=data, headers=headers, timeout=30)
                times.append(time.perf_counter() - t)
                assert r.json()["allow"] is True, r.text
                # git "did not make" the update: post-receive voids the intent, so the next call is fresh
                void = {"repo": "plant-a-ot", "pusher": "alice", "updates": [],
                        "intents": [i["id"] for i in r.json()["intents"]]}
                assert requests.post(svc.url + "/api/v1/hooks/post-receive", json=void, headers=headers,
                                     timeout=30).status_code == 200
            print(f"gate, CR with 3 approvers on slapd: cold {times[0] * 1000:.1f} ms, "
                  f"warm median {statistics.median(times[1:]) * 1000:.1f} ms (HTTP round trip included)")


if __name__ == "__main__":
    main()
