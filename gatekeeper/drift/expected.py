"""The approved state: the content at the head of a repo's protected branch, read from the bare repo.

Gatekeeper's gate lets only approved content reach that branch, so its head *is* the approved,
deployed configuration. The service needs the repo on its host for this: ``[[repos]] path``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gatekeeper.config import RepoConfig
from gatekeeper.drift.fetch import SourceError
from gatekeeper.gitio import plumbing
from gatekeeper.policy.categories import default_target


@dataclass
class Approved:
    """A repo's protected branch head: ``files`` maps repo paths to blob ids; blobs read on demand."""

    repo: str
    branch: str
    commit: str
    git_dir: Path
    files: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)

    def under(self, path: str) -> dict[str, str]:
        """Blob ids of the file ``path`` (key ``""``) or of the files below the folder ``path``
        (keys relative to it); empty when the branch has nothing there."""
        if path in self.files:
            return {"": self.files[path]}
        prefix = path.rstrip("/") + "/"
        return {name[len(prefix):]: blob for name, blob in self.files.items() if name.startswith(prefix)}

    def is_folder(self, path: str) -> bool:
        return path not in self.files and bool(self.under(path))

    def load(self, blobs: Iterable[str], limit: int) -> None:
        missing = [b for b in blobs if b not in self.blobs]
        if missing:
            found, sizes = plumbing.read_blobs(missing, limit, cwd=str(self.git_dir))
            too_big = [b for b in missing if b in sizes and b not in found]
            if too_big:
                raise SourceError(f"an approved file of {sizes[too_big[0]]} bytes exceeds drift.max_bytes ({limit})")
            self.blobs.update(found)


def approved(repo: RepoConfig) -> Approved:
    """The head of the repo's first plainly named protected branch (``main``), with its file list."""
    if repo.path is None:
        raise SourceError(f"repo {repo.name} has no path: set [[repos]] path to its bare repository so drift "
                          "checks can read the approved content")
    branch = default_target(repo.protected)
    if branch is None:
        raise SourceError(f"repo {repo.name} has no plainly named protected branch to compare with")
    if not (repo.path / "HEAD").exists() and not (repo.path / ".git").exists():
        raise SourceError(f"{repo.path} is not a git repository (repos.path of {repo.name})")
    cwd = str(repo.path)
    commit = plumbing.git("rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}", cwd=cwd,
                          check=False).decode().strip()
    if not commit:
        raise SourceError(f"repo {repo.name} has no branch {branch} yet: nothing approved to compare with")
    files = {path: blob for _mode, blob, path in plumbing.ls_tree(commit, cwd=cwd)}
    return Approved(repo=repo.name, branch=branch, commit=commit, git_dir=repo.path, files=files)


def blob_contents(git_dir: Path, blobs: Iterable[str], limit: int) -> dict[str, bytes]:
    """Contents of blobs (e.g. an approved CR's new files, pushed to the same bare repo)."""
    found, _sizes = plumbing.read_blobs(list(blobs), limit, cwd=str(git_dir))
    return found
