"""Hook overhead of a 20-file topic push over SSH through gitolite (issue 13; target ≤ 0.1 s, as for
plain pushes): the same push to a gitolite repo with Gatekeeper's hooks (``--layout gitolite``, the
hooks run as the gitolite user with Debian's python3 and read ``hook_token_file``) and to one without,
alternated, medians. Needs root (a throwaway system user and sshd). Prints plain figures."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.git import git
from tests.support.gitolite import hook_package, install_hooks, running_gitolite
from tests.support.plant import POLICY, make_plant
from tests.support.service import HOOK_TOKEN, running
from tests.support.sshd import readable_dir

RUNS = 15
CONF = "repo gitolite-admin\n    RW+ = admin\nrepo plant-a-ot\n    RW+ = alice\nrepo reference\n    RW+ = alice\n"


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


def main() -> None:
    package = hook_package()
    with running_gitolite(["alice"]) as gl, tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        gl.configure(CONF)
        policy = POLICY.replace("fail_open = false\n", 'fail_open = false\nhook_token_file = "hook-token"\n')
        plant = make_plant(readable_dir("gk-benchplant-") / "plant", policy=policy)
        token = plant.dir / "hook-token"
        token.write_text(HOOK_TOKEN + "\n")
        token.chmod(0o600)
        os.chown(token, gl.user.uid, gl.user.gid)
        env = gl.env("alice", {"GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@plant.example",
                               "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@plant.example"})
        with running(plant):
            proc = install_hooks(plant.config, gl.repo("plant-a-ot"), "plant-a-ot", "gitolite", package)
            if proc.returncode:
                raise SystemExit(proc.stderr)
            works = {}
            for name in ("reference", "plant-a-ot"):
                works[name] = tmp / name
                subprocess.run(["git", "clone", "-q", gl.url(name), str(works[name])], env=env, check=True,
                               capture_output=True)
            times: dict[str, list[float]] = {"reference": [], "plant-a-ot": []}
            for i in range(RUNS + 1):  # the first run warms caches and is not counted
                for name, work in works.items():
                    git(work, "checkout", "-q", "-B", f"topic-{i}")
                    commit_files(work, 20, f"run {i}")
                    t = timed_push(work, f"HEAD:refs/heads/topic-{i}", env)
                    if i:
                        times[name].append(t)
    plain, hooked = statistics.median(times["reference"]), statistics.median(times["plant-a-ot"])
    print(f"20-file topic push over SSH through gitolite: without Gatekeeper {plain:.3f} s, with {hooked:.3f} s, "
          f"median hook overhead {hooked - plain:.3f} s (target <= 0.1 s)")


if __name__ == "__main__":
    main()
