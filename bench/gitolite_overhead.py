"""Hook overhead of a 20-file topic push over SSH through gitolite (issue 13; target ≤ 0.1 s, as for
plain pushes): the same push to a gitolite repo with Gatekeeper's hooks (``--layout gitolite``, the
hooks run as the gitolite user with Debian's python3 and read ``hook_token_file``) and to one without,
alternated, medians. Needs root (a throwaway system user and sshd). Prints plain figures."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.hook_overhead import alternating_medians
from tests.support.git import ALICE
from tests.support.gitolite import hook_package, install_hooks, running_gitolite, token_file_plant
from tests.support.service import running

RUNS = 15
CONF = "repo gitolite-admin\n    RW+ = admin\nrepo plant-a-ot\n    RW+ = alice\nrepo reference\n    RW+ = alice\n"


def main() -> None:
    package = hook_package()
    with running_gitolite(["alice"]) as gl, tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        gl.configure(CONF)
        plant = token_file_plant("gk-benchplant-", gl.user.uid, gl.user.gid)
        env = gl.env("alice", ALICE)
        with running(plant):
            proc = install_hooks(plant.config, gl.repo("plant-a-ot"), "plant-a-ot", "gitolite", package)
            if proc.returncode:
                raise SystemExit(proc.stderr)
            works = {}
            for name in ("reference", "plant-a-ot"):
                works[name] = tmp / name
                subprocess.run(["git", "clone", "-q", gl.url(name), str(works[name])], env=env, check=True,
                               capture_output=True)
            medians = alternating_medians(works, 20, RUNS, env)
    plain, hooked = medians["reference"], medians["plant-a-ot"]
    print(f"20-file topic push over SSH through gitolite: without Gatekeeper {plain:.3f} s, with {hooked:.3f} s, "
          f"median hook overhead {hooked - plain:.3f} s (target <= 0.1 s)")


if __name__ == "__main__":
    main()
