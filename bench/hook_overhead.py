"""Hook overhead per push: the same push to a hooked bare repo and to a plain one (issue 3 targets:
≤ 0.1 s median for a 20-file topic push, ≤ 1 s for a 5,000-file push). Prints plain figures."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.git import ALICE, git, make_repo, no_git_env
from tests.support.plant import make_plant
from tests.support.service import HOOK_TOKEN, running


def timed_push(work: Path, refspec: str, env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(["git", "push", "-q", "origin", refspec], cwd=work, env=env, capture_output=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"push failed: {proc.stderr.decode()}")
    return elapsed


def commit_files(work: Path, n: int, tag: str) -> None:
    for i in range(n):
        p = work / "cfg" / f"f{i:05d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"{tag} value {i}\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", tag)


def alternating_medians(works: dict[str, Path], n_files: int, runs: int, env: dict[str, str]) -> dict[str, float]:
    """The same ``n_files``-file topic push to each clone in turn (alternated, so machine noise hits
    both alike), ``runs`` times after one warm-up: the median seconds per clone."""
    times: dict[str, list[float]] = {name: [] for name in works}
    for i in range(runs + 1):  # the first run warms caches and is not counted
        for name, work in works.items():
            git(work, "checkout", "-q", "-B", f"topic-{i}")
            commit_files(work, n_files, f"run {i}")
            t = timed_push(work, f"HEAD:refs/heads/topic-{i}", env)
            if i:
                times[name].append(t)
    return {name: statistics.median(t) for name, t in times.items()}


def measure(n_files: int, runs: int, tmp: Path) -> tuple[float, float]:
    plant = make_plant(tmp / f"plant{n_files}")
    hooked = make_repo(plant)
    plain_bare = tmp / f"plain{n_files}.git"
    git(tmp, "init", "-q", "--bare", str(plain_bare))
    plain_work = tmp / f"plainwork{n_files}"
    git(tmp, "clone", "-q", str(plain_bare), str(plain_work))
    env = no_git_env({"GATEKEEPER_USER": "alice", "GATEKEEPER_HOOK_TOKEN": HOOK_TOKEN, **ALICE})
    with running(plant):
        medians = alternating_medians({"plain": plain_work, "hooked": hooked.work}, n_files, runs, env)
    return medians["plain"], medians["hooked"]


def main() -> None:
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        tmp = Path(d)
        for n, runs, target in ((20, 15, 0.1), (5000, 3, 1.0)):
            plain, hooked = measure(n, runs, tmp)
            print(f"{n}-file topic push: plain {plain:.3f} s, with hooks {hooked:.3f} s, "
                  f"median hook overhead {hooked - plain:.3f} s (target <= {target} s)")


if __name__ == "__main__":
    main()
