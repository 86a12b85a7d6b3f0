"""``gatekeeper policy check`` / ``config check``, and the protection report of install-hooks and serve."""

from __future__ import annotations

from tests.support.git import Repo, gatekeeper, git, make_repo
from tests.support.plant import Plant
from tests.support.service import running


def test_policy_check_branch_and_paths(plant: Plant) -> None:
    proc = gatekeeper(plant, "policy", "check", "--branch", "release/2026/q1", "--path", "erp/postings.csv",
                      "--path", "docs/intro.md", "--path", "plc/line3.xml")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("plant-a-ot: branch release/2026/q1 is PROTECTED (by release/*)")
    i = out.index("path erp/postings.csv: categories erp-mapping (financial), erp-mapping-format (financial)")
    assert out[i + 1] == "  approvals: 1 approval(s) by finance-controllers; 1 approval(s) by ot-engineering-leads"
    assert out[i + 2] == "  format: erp-mapping-csv (validated and diffed semantically)"
    assert out[i + 3] == "  authors: ot-engineers"
    j = out.index("path docs/intro.md: categories docs")
    assert out[j + 1] == "  approvals: no approval (changes pass the gate and are logged)"
    assert out[j + 2] == "  format: none (line diff only; `gatekeeper check` skips it)"
    assert "path plc/line3.xml: matches no category pattern, so categories default" in out


def test_policy_check_topic_branches_and_bad_input(plant: Plant) -> None:
    proc = gatekeeper(plant, "policy", "check", "--branch", "fix/main", "--repo", "plant-a-ot")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("plant-a-ot: branch fix/main is not protected (patterns: main, release/*): "
                                  "pushes are accepted and open a change request aimed at main")
    proc = gatekeeper(plant, "policy", "check", "--branch", "refs/heads/MAIN")
    assert "branch MAIN is PROTECTED (by main)" in proc.stdout
    proc = gatekeeper(plant, "policy", "check", "--branch", "bad..name")
    assert proc.stdout.startswith("note: 'bad..name' is not a valid git branch name")
    proc = gatekeeper(plant, "policy", "check")
    assert proc.returncode == 2 and proc.stderr.startswith("gatekeeper: error: give --branch B and/or --path P")
    proc = gatekeeper(plant, "policy", "check", "--branch", "main", "--repo", "nope")
    assert proc.returncode == 2 and "repo 'nope' is not in the policy file" in proc.stderr
    assert "(repos: plant-a-ot)" in proc.stderr


def test_config_check_exit_codes(plant: Plant) -> None:
    proc = gatekeeper(plant, "config", "check")
    assert proc.returncode == 0, proc.stderr
    assert f"{plant.config}: valid (1 repo(s), 7 categories, every group it names exists in the directory" \
        in proc.stdout
    assert "plant-a-ot: protected branch patterns: main, release/*" in proc.stdout
    text = plant.config.read_text()
    plant.config.write_text(text.replace('protected = ["main", "release/*"]', 'protected = ["main", "release/[0-9"]'))
    proc = gatekeeper(plant, "config", "check")
    assert proc.returncode == 2
    assert "repos[plant-a-ot].protected: unterminated character class in 'release/[0-9'" in proc.stderr
    plant.config.write_text(text.replace('group = "finance-controllers"', 'group = "finanse"', 1))
    proc = gatekeeper(plant, "config", "check")
    assert proc.returncode == 2 and "group 'finanse' is not known to the directory" in proc.stderr
    assert gatekeeper(plant, "config", "check", "--no-directory").returncode == 0
    proc = gatekeeper(plant, "config", "check", "--config", str(plant.dir / "missing.toml"))
    assert proc.returncode == 2 and proc.stderr.endswith(
        "missing.toml: cannot read configuration: No such file or directory (give the policy file with --config "
        "FILE or GATEKEEPER_CONFIG)\n")


def test_install_hooks_and_serve_print_what_is_protected_now(plant: Plant, repo: Repo) -> None:
    repo.commit({"README.md": "# plant\n"})
    for ref in ("main", "release/2026/q1", "fix/main", "topic"):  # fetched into the bare repo: no hooks run
        git(repo.bare, "fetch", "-q", str(repo.work), f"HEAD:refs/heads/{ref}")
    proc = gatekeeper(plant, "repo", "install-hooks", str(repo.bare), "--name", "plant-a-ot")
    assert proc.returncode == 0, proc.stderr
    assert "plant-a-ot: protected branch patterns: main, release/*" in proc.stdout
    assert f"plant-a-ot: protected now in {repo.bare}: main, release/2026/q1 (2 of 4 branch(es))" in proc.stdout
    with running(plant):
        pass
    log = (plant.dir / "service.log").read_text()
    assert f"gatekeeper: plant-a-ot: protected now in {repo.bare}: main, release/2026/q1 (2 of 4 branch(es))" in log


def test_repo_create_reports_no_protected_branch_yet(plant: Plant) -> None:
    other = make_repo(plant, "plant-a-ot")
    assert other.bare.is_dir()
    proc = gatekeeper(plant, "repo", "install-hooks", str(other.bare), "--name", "plant-a-ot")
    assert f"plant-a-ot: no branch of {other.bare} is protected yet (0 branch(es))" in proc.stdout
