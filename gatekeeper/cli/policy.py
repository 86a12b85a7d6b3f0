"""``gatekeeper policy check`` and ``gatekeeper config check``: test a policy before rolling it out.

``policy check --branch B --path P`` says what the policy does with a push: whether B is protected (and
by which pattern), and for each path its categories, rules, format and authors. ``config check``
validates the file and the groups it names. The protection report is shared with ``repo
install-hooks`` and ``serve``, which print it at start so an administrator sees what is gated now.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gatekeeper.cli.context import AppContext, pass_app, sub_config_option
from gatekeeper.errors import GatekeeperError, InputError
from gatekeeper.policy.categories import classify, protecting
from gatekeeper.policy.rules import merge_rules

if TYPE_CHECKING:
    from gatekeeper.config import Config, RepoConfig


def existing_branches(bare: Path) -> list[str] | None:
    """The branches of a local repo (None when it cannot be read)."""
    try:
        proc = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/heads/"], cwd=bare,
                              capture_output=True)
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    refs = proc.stdout.decode("utf-8", "replace").splitlines()
    return [r.removeprefix("refs/heads/") for r in refs]


def protection_lines(repo: RepoConfig, bare: Path | None) -> list[str]:
    """What is protected in one repo right now: the patterns, and the existing branches they cover."""
    lines = [f"{repo.name}: protected branch patterns: {', '.join(repo.protected)} (whole branch names; "
             "'*' also matches '/'; see `gatekeeper policy check --branch B`)"]
    if bare is None:
        lines.append(f"{repo.name}: no bare repository with Gatekeeper's hooks is known on this machine "
                     "(run `gatekeeper repo install-hooks`); only the patterns above apply")
        return lines
    branches = existing_branches(bare)
    if branches is None:
        lines.append(f"{repo.name}: cannot list the branches of {bare} (moved, or not readable by this user)")
        return lines
    hits = sorted(b for b in branches if protecting(b, repo.protected))
    if hits:
        lines.append(f"{repo.name}: protected now in {bare}: {', '.join(hits)} "
                     f"({len(hits)} of {len(branches)} branch(es))")
    else:
        lines.append(f"{repo.name}: no branch of {bare} is protected yet ({len(branches)} branch(es)); "
                     "the first push that creates a matching branch goes through the gate")
    return lines


def _branch_lines(repos: Iterable[RepoConfig], branch: str) -> list[str]:
    from gatekeeper.policy.categories import default_target

    name = branch.strip().removeprefix("refs/heads/")
    try:
        rc = subprocess.run(["git", "check-ref-format", f"refs/heads/{name}"], capture_output=True).returncode
    except OSError:
        rc = 0  # no git here: the policy answer does not need it
    out = [] if rc == 0 else [f"note: {name!r} is not a valid git branch name; git would refuse to create it"]
    for repo in repos:
        by = protecting(name, repo.protected)
        if by:
            out.append(f"{repo.name}: branch {name} is PROTECTED (by {', '.join(by)}): a push to it passes only "
                       "as the exact patches of approved change requests (or an emergency change); deleting it "
                       "and rewriting its history are refused")
        else:
            target = default_target(repo.protected)
            aim = (f"aimed at {target} (-o gatekeeper.target=<branch> to choose)" if target else
                   "only with -o gatekeeper.target=<protected branch> (no plain protected branch to default to)")
            out.append(f"{repo.name}: branch {name} is not protected (patterns: {', '.join(repo.protected)}): "
                       f"pushes are accepted and open a change request {aim}")
    return out


def _path_lines(cfg: Config, path: str) -> list[str]:
    rel = path.strip().removeprefix("./").lstrip("/")
    cats = classify(rel, cfg.categories)
    rules = merge_rules(cats)
    fmt = next((c.format for c in cats if c.format), None)
    names = ", ".join(c.name + (" (financial)" if c.financial else "") for c in cats)
    how = "matches no category pattern, so " if [c.name for c in cats] == ["default"] else ""
    needs = ("; ".join(f"{r.count} approval(s) by {r.group}" for r in rules) if rules
             else "no approval (changes pass the gate and are logged)")
    authors = sorted({a for c in cats for a in c.authors})
    lines = [f"path {rel}: {how}categories {names}",
             f"  approvals: {needs}",
             f"  format: {fmt} (validated and diffed semantically)" if fmt else
             "  format: none (line diff only; `gatekeeper check` skips it)",
             f"  authors: {', '.join(authors)}" if authors else "  authors: anyone (no authors groups)"]
    meanings = sorted({m for c in cats for m in c.meanings}) if rules else []
    if meanings:
        lines.append(f"  signature meanings: {'; '.join(meanings)}")
        rejecting = sorted({m for c in cats for m in c.reject_meanings})
        lines.append(f"  rejection meanings: {'; '.join(rejecting)}")
    return lines


@click.group()
def policy() -> None:
    """Test the policy: what is protected, which rules apply to a path."""


@policy.command("check")
@click.option("--branch", "branch", default=None, help="A branch name (or refs/heads/ ref) to test.")
@click.option("--path", "paths", multiple=True, help="A repo-relative file path to classify (repeatable).")
@click.option("--repo", "repo_name", default=None, help="The repo's name in the policy (default: every repo).")
@sub_config_option
@pass_app
def policy_check(app: AppContext, branch: str | None, paths: tuple[str, ...], repo_name: str | None) -> int:
    """List the protection, categories, rules and formats that apply to BRANCH and each PATH."""
    cfg = app.config
    if not branch and not paths:
        raise InputError("give --branch B and/or --path P (for example: gatekeeper policy check --branch "
                         "release/2026/q1 --path erp/postings.csv)")
    repos = list(cfg.repos)
    if repo_name is not None:
        repo = cfg.repo(repo_name)
        if repo is None:
            raise InputError(f"repo {repo_name!r} is not in the policy file {cfg.path} "
                             f"(repos: {', '.join(r.name for r in cfg.repos)})")
        repos = [repo]
    lines = _branch_lines(repos, branch) if branch else []
    for p in paths:
        if not p.strip():
            raise InputError("--path: an empty path")
        lines.extend(_path_lines(cfg, p))
    for line in lines:
        click.echo(line)
    return 0


@click.group("config")
def config_group() -> None:
    """Check the policy file."""


@config_group.command("check")
@click.option("--no-directory", is_flag=True, help="Do not check the groups against the directory.")
@sub_config_option
@pass_app
def config_check(app: AppContext, no_directory: bool) -> int:
    """Validate the policy file (and the groups it names); exit 0 valid, 2 invalid, 1 directory unreachable."""
    cfg = app.config  # a ConfigError here is one line naming file:line: key, exit 2
    if not no_directory:
        from gatekeeper.directory import open_directory

        try:
            open_directory(cfg)
        except GatekeeperError as exc:
            if exc.exit_code == 2:
                raise
            raise GatekeeperError(f"the policy file is valid, but its groups could not be checked: {exc.message} "
                                  "(--no-directory skips this check)") from exc
    groups = "" if no_directory else ", every group it names exists in the directory"
    click.echo(f"{cfg.path}: valid ({len(cfg.repos)} repo(s), {len(cfg.categories)} categories{groups}; "
               f"sha256 {cfg.sha256[:16]})")
    for repo in cfg.repos:
        click.echo(f"{repo.name}: protected branch patterns: {', '.join(repo.protected)}")
    return 0
