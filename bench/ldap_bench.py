"""Time one SoD-style directory lookup against a real slapd, cold and warm (issue 6; target warm ≤ 20 ms).

One decision = get_user (the signer) + find_by_email for 3 commit authors + memberships for 3
approvers (nested groups resolved), i.e. what signing or the gate asks the directory. "Cold" builds a
new LdapDirectory (new connection, StartTLS if asked, service bind); "warm" reuses one (pooled
connection). Run: .venv/bin/python bench/ldap_bench.py [--runs N] [--tls]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.support

from gatekeeper.directory.ldap import LdapDirectory
from tests.support.slapd import SERVICE_PASSWORD, running_slapd

AUTHORS = ("alice@plant.example", "erin@plant.example", "mallory@plant.example")
APPROVERS = ("bob", "carol", "dave")


def decision(directory: LdapDirectory) -> int:
    """One SoD decision's lookups; returns the number of memberships seen (a sanity check)."""
    assert directory.get_user("carol") is not None
    for email in AUTHORS:
        assert directory.find_by_email(email) is not None
    return sum(len(directory.memberships(u)) for u in APPROVERS)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(label: str, ms: list[float]) -> None:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 20 else max(ms)
    print(f"{label}: {statistics.median(ms):.1f} ms median, {p95:.1f} ms p95, {min(ms):.1f} ms min "
          f"({len(ms)} runs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--tls", action="store_true", help="StartTLS with the test CA")
    args = parser.parse_args(argv)
    with running_slapd(tls=args.tls) as slapd:
        tls = {"start_tls": True, "ca_file": slapd.tls.ca} if args.tls and slapd.tls else {}
        config = slapd.config(**tls)
        mode = "StartTLS" if args.tls else "plain ldap://"
        print(f"slapd {slapd.url} ({mode}); decision = get_user + 3 x find_by_email + 3 x memberships")

        def cold() -> None:
            directory = LdapDirectory(config, password=SERVICE_PASSWORD)
            try:
                decision(directory)
            finally:
                directory.close()

        warm_dir = LdapDirectory(config, password=SERVICE_PASSWORD)
        groups = decision(warm_dir)  # warms the pool
        print(f"memberships per decision: {groups}")
        report("cold SoD decision", timed(cold, max(10, args.runs // 5)))
        warm = timed(lambda: decision(warm_dir), args.runs)
        report("warm SoD decision", warm)
        single = timed(lambda: warm_dir.memberships("carol"), args.runs)
        report("warm memberships(carol)", single)
        warm_dir.close()
        verdict = "meets" if statistics.median(warm) <= 20 else "MISSES"
        print(f"target warm <= 20 ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
