"""Three "hosts" (issue 12): two gunicorn instances with 2 workers each, on 127.0.0.2 and 127.0.0.3,
behind a round-robin load balancer, and one PostgreSQL reached through a cable we can cut. Pushes and
approvals alternate between the instances; lockout and sign-out hold across both; a database outage is a
plain 503 that the hook names."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy

from tests.support.git import Repo, gatekeeper, make_repo
from tests.support.gunicorn import Gunicorn
from tests.support.plant import Plant, free_port, make_plant, password
from tests.support.postgres import PgServer, pg_database, pg_server  # noqa: F401  (fixtures)
from tests.support.proxy import TcpProxy
from tests.support.service import service_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


class Cluster:
    def __init__(self, plant: Plant, a: Gunicorn, b: Gunicorn, lb: TcpProxy, db_cable: TcpProxy) -> None:
        self.plant, self.a, self.b, self.lb, self.db_cable = plant, a, b, lb, db_cable

    def hosts(self) -> tuple[Gunicorn, Gunicorn]:
        return self.a, self.b


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer,  # noqa: F811
            pg_database: str) -> Iterator[Cluster]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("scale")
    cable = TcpProxy(("127.0.0.4", free_port()), [(pg_server.host, pg_server.port)]).start()
    url = pg_server.url(pg_database).replace(f"@{pg_server.host}:{pg_server.port}/", f"@127.0.0.4:{cable.listen[1]}/")
    plant = make_plant(tmp / "plant", database=url)
    lb = TcpProxy(("127.0.0.1", plant.port), [])
    env = service_env()
    a = Gunicorn(plant.config, "127.0.0.2", free_port(), env, log=tmp / "a.log")
    b = Gunicorn(plant.config, "127.0.0.3", free_port(), env, log=tmp / "b.log")
    try:
        a.start()
        b.start()
        lb.upstreams[:] = [(a.host, a.port), (b.host, b.port)]
        lb.start()
        yield Cluster(plant, a, b, lb, cable)
    finally:
        lb.stop()
        a.stop()
        b.stop()
        cable.stop()


def _entries(plant: Plant, kind: str) -> list[dict[str, object]]:
    engine = sqlalchemy.create_engine(plant.database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT payload FROM change_log WHERE kind = :k ORDER BY seq"),
                                {"k": kind}).all()
    finally:
        engine.dispose()
    return [json.loads(r[0]) for r in rows]


def _sign_in(url: str, user: str) -> requests.Session:
    s = requests.Session()
    form = s.get(url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', form)
    assert token, form[:500]
    resp = s.post(url + "/login", data={"csrf_token": token.group(1), "username": user, "password": password(user)},
                  allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text[:500]
    return s


def test_pushes_and_approvals_alternate_between_hosts(cluster: Cluster) -> None:
    repo: Repo = make_repo(cluster.plant)
    repo.commit({"docs/readme.md": "# plant\n"}, "bootstrap")  # docs need no approval
    assert repo.push("HEAD:refs/heads/main").ok
    ids = []
    for i in range(4):  # through the load balancer: the hooks land on either host
        repo.checkout(f"topic-{i}", create=True, start="main")
        repo.commit({f"cfg/unit{i}.txt": f"setpoint {i}\n"}, f"unit {i}")
        ids.append(repo.push(f"HEAD:refs/heads/topic-{i}").change_id())
    assert ids == sorted(set(ids))
    for n, cid in enumerate(ids):  # signatures alternate between the hosts
        host = cluster.hosts()[n % 2]
        resp = requests.post(f"{host.url}/api/v1/changes/{cid}/approvals", auth=("carol", password("carol")),
                             json={"decision": "approve"}, timeout=30)
        assert resp.status_code == 201, resp.text
    other = cluster.hosts()[1]
    assert requests.get(f"{other.url}/api/v1/changes/{ids[0]}", auth=("dave", password("dave")),
                        timeout=10).json()["state"] == "approved"
    repo.checkout("topic-0")
    pushed = repo.push("HEAD:refs/heads/main")
    assert pushed.ok, pushed.stderr
    assert cluster.lb.connections >= 8  # every hook call, alternately on each host
    proc = gatekeeper(cluster.plant, "log", "verify")
    assert proc.returncode == 0, proc.stderr


def test_lockout_holds_across_hosts_with_one_lock_entry(cluster: Cluster) -> None:
    a, b = cluster.hosts()
    for i in range(5):
        host = (a, b)[i % 2]
        resp = requests.get(f"{host.url}/api/v1/changes", auth=("gina", "wrong"), timeout=10)
        assert resp.status_code == 401
    for host in (a, b):  # the right password no longer helps, on either host
        resp = requests.get(f"{host.url}/api/v1/changes", auth=("gina", password("gina")), timeout=10)
        assert resp.status_code == 401 and "too many failed attempts" in resp.json()["error"]["message"]
    assert [e["username"] for e in _entries(cluster.plant, "auth.locked")] == ["gina"]


def test_concurrent_guessing_on_all_workers_checks_exactly_the_threshold(cluster: Cluster) -> None:
    """20 wrong passwords at once over both hosts (4 workers): each check is reserved in the database
    before the directory sees it, so exactly 5 are checked and the lock lands once (issues 12, 22).
    In-process counters let all 20 through."""
    from concurrent.futures import ThreadPoolExecutor

    hosts = cluster.hosts()

    def guess(i: int) -> str:
        resp = requests.get(f"{hosts[i % 2].url}/api/v1/changes", auth=("erin", f"guess-{i}"), timeout=60)
        assert resp.status_code == 401
        return str(resp.json()["error"]["message"])

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(guess, range(20)))
    checked = sum(1 for a in answers if "too many failed attempts" not in a)
    assert checked == 5, answers
    assert [e["username"] for e in _entries(cluster.plant, "auth.locked")].count("erin") == 1


def test_sign_out_on_one_host_ends_the_session_on_the_other(cluster: Cluster) -> None:
    a, b = cluster.hosts()
    session = _sign_in(a.url, "carol")
    copied = dict(session.cookies)
    assert requests.get(b.url + "/", cookies=copied, allow_redirects=False, timeout=10).status_code == 200
    # the same browser, its next requests routed to the other host: it signs out there
    ask = requests.get(b.url + "/logout", cookies=copied, timeout=10)
    cookie = ask.cookies.get("session") or copied["session"]  # the form's CSRF token lives in the session
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', ask.text)
    assert token, ask.text[:500]
    resp = requests.post(b.url + "/logout", data={"csrf_token": token.group(1)}, cookies={"session": cookie},
                         allow_redirects=False, timeout=10)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    for host in (a, b):
        again = requests.get(host.url + "/", cookies=copied, allow_redirects=False, timeout=10)
        assert again.status_code == 302 and "/login" in again.headers["Location"]
    # an admin's "sign out everywhere" reaches sessions opened on both hosts
    s1, s2 = _sign_in(a.url, "bob"), _sign_in(b.url, "bob")
    revoked = requests.post(b.url + "/api/v1/sessions/revoke", json={"username": "bob"},
                            auth=("frank", password("frank")), timeout=10)
    assert revoked.json() == {"username": "bob", "revoked": 2}
    for s, host in ((s1, b), (s2, a)):
        resp = requests.get(host.url + "/", cookies=dict(s.cookies), allow_redirects=False, timeout=10)
        assert resp.status_code == 302


def test_database_outage_is_a_plain_503_and_the_hook_says_so(cluster: Cluster, tmp_path: Path) -> None:
    repo = Repo(bare=cluster.plant.dir / "plant-a-ot.git", work=cluster.plant.dir / "work-plant-a-ot",
                plant=cluster.plant)
    repo.checkout("topic-0")  # what main is now
    repo.commit({"cfg/late.txt": "x\n"}, "during the outage")
    signed_in = dict(_sign_in(cluster.a.url, "dave").cookies)
    cluster.db_cable.stop()
    try:
        a, b = cluster.hosts()
        api = requests.get(f"{a.url}/api/v1/log?limit=1", auth=("dave", password("dave")), timeout=30)
        assert api.status_code == 503, api.text
        assert api.json()["error"]["code"] == "database_unavailable"
        page = requests.get(f"{b.url}/login", timeout=30)  # no database needed to show the form
        assert page.status_code == 200
        page = requests.get(f"{b.url}/changes", cookies=signed_in, allow_redirects=False, timeout=30)
        assert page.status_code == 503 and "database is unreachable" in page.text
        pushed = repo.push("HEAD:refs/heads/main")
        assert not pushed.ok
        assert "database is unreachable" in pushed.text(), pushed.stderr
        health = requests.get(f"{a.url}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["status"] == "degraded"
    finally:
        cluster.db_cable.start()
    assert requests.get(f"{cluster.a.url}/healthz", timeout=30).status_code == 200


def test_pg_backup_restores_and_verifies_and_warns_when_older_than_a_checkpoint(
        cluster: Cluster, pg_server: PgServer, tmp_path: Path) -> None:  # noqa: F811
    """What `gatekeeper db backup` prints for PostgreSQL, done for real: pg_dump, pg_restore into a scratch
    database, `log verify --database` on it; after a later signed checkpoint the old backup warns."""
    import os
    import subprocess

    from tests.support.postgres import create_database, drop_database

    printed = gatekeeper(cluster.plant, "db", "backup", str(tmp_path / "gk.dump"))
    assert printed.returncode == 0 and "pg_dump --format=custom" in printed.stdout
    pg_env = {**os.environ, "PGPASSWORD": pg_server.password}
    live = pg_server.url("x").rsplit("/", 1)[0]
    database = cluster.plant.database.rsplit("/", 1)[1]
    conninfo = f"postgresql://{pg_server.user}@{pg_server.host}:{pg_server.port}/{database}"
    subprocess.run(["pg_dump", "--format=custom", f"--file={tmp_path / 'gk.dump'}", conninfo], env=pg_env,
                   check=True, capture_output=True)
    restored = create_database(pg_server, "restored")
    try:
        subprocess.run(["pg_restore", "--no-owner", f"--dbname=postgresql://{pg_server.user}@{pg_server.host}:"
                        f"{pg_server.port}/{restored}", str(tmp_path / "gk.dump")], env=pg_env, check=True,
                       capture_output=True)
        url = f"{live}/{restored}"
        ok = gatekeeper(cluster.plant, "log", "verify", "--database", url)
        assert ok.returncode == 0 and "log intact" in ok.stdout, ok.stderr
        cp = tmp_path / "cp.json"
        for _ in range(2):  # the first logs log.checkpoint after the backup; the second covers that entry
            assert gatekeeper(cluster.plant, "log", "checkpoint", "-o", str(cp)).returncode == 0
        stale = gatekeeper(cluster.plant, "log", "verify", "--database", url, "--checkpoint", str(cp))
        assert stale.returncode == 0 and "warning: this backup ends at seq" in stale.stderr
    finally:
        drop_database(pg_server, restored)
