"""What a push is: ref updates from stdin, push options, the pusher, and per-file changes (SPEC §6, §7).

Builds the JSON body the hooks send to the service, so the service never needs the repo. Standard
library only: this runs on every push.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from gatekeeper.errors import InputError
from gatekeeper.gitio import plumbing as git
from gatekeeper.gitio.hookconfig import HookConfig
from gatekeeper.gitio.pushinfo import RefUpdate, option
from gatekeeper.policy.categories import default_target, is_protected, rule_of
from gatekeeper.policy.refs import PROTECTED_BRANCH, PROTECTED_TAG, TOPIC, is_null
from gatekeeper.policy.registry import CONTEXT_FORMATS

LINE_DIFF_LIMIT = 1024 * 1024  # text files up to this size are sent for a readable line diff


def check_name(path: str) -> None:
    """A file name git holds as bytes that are not UTF-8 cannot be classified, reviewed or logged as text."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise InputError(f'the file name "{shown}" is not UTF-8 (the bytes that are not are shown as \\xNN): '
                         "Gatekeeper classifies, reviews and logs file names as UTF-8 text; rename the file "
                         "(git mv) to a UTF-8 name in a new commit and push again") from None


class PayloadBuilder:
    """Computes one update's body; ``with_content`` adds base64 contents for diffs and validation,
    ``with_commits`` the commits (who took part, for SoD and the deployment record)."""

    def __init__(self, config: HookConfig, repo: str, options: Sequence[str]) -> None:
        self.config, self.options = config, options
        self.rules = config.repos[repo]
        self.protected = self.rules.protected
        self._tips: dict[str, str] | None = None
        self._empty: str | None = None

    @property
    def tips(self) -> dict[str, str]:
        if self._tips is None:
            self._tips = git.branch_tips()
        return self._tips

    @property
    def empty(self) -> str:
        if self._empty is None:
            self._empty = git.empty_tree()
        return self._empty

    def protected_tips(self) -> dict[str, str]:
        return {r: s for r, s in self.tips.items()
                if is_protected(r[len("refs/heads/"):], self.protected)}

    def rule(self, ref: str) -> str:
        """``policy.refs``' rule for ``ref`` in this repo (SPEC §12 "Refs")."""
        return rule_of(ref, *self.rules)

    def update(self, u: RefUpdate, *, with_content: bool, with_commits: bool = True,
               breakglass: bool = False) -> dict[str, object]:
        """``breakglass``: a gated update made under ``-o gatekeeper.emergency``, described as what it
        did to the ref (its emergency CR lists the files, whatever kind of update it was)."""
        body: dict[str, object] = {"ref": u.ref, "old": u.old, "new": u.new}
        rule = self.rule(u.ref)
        if rule == PROTECTED_TAG and not is_null(u.new):
            body.update(self._tag(u))
        if breakglass:
            body.update(self._breakglass(u, rule, with_content))
            return body
        if rule not in (PROTECTED_BRANCH, TOPIC) or is_null(u.new):
            return body
        if rule == PROTECTED_BRANCH:
            body.update(self._protected(u))
        else:
            body.update(self._topic(u))
        base = body.get("base") or self.empty
        body["changes"] = self._changes(str(base), u.new, with_content=with_content)
        if with_commits:
            body["commits"] = git.commits([u.new] if not body.get("base") else [u.new, f"^{body['base']}"])
        if with_content:
            body["context"] = self._context(u.new, body["changes"])  # type: ignore[arg-type]
        return body

    def _tag(self, u: RefUpdate) -> dict[str, object]:
        """A protected tag: the commit it names and the protected branches that already hold it."""
        peeled = git.peel(u.new)
        held = [r for r, tip in sorted(self.protected_tips().items())
                if peeled and (tip == peeled or git.is_ancestor(peeled, tip))]
        return {"peeled": peeled, "held_by": held}

    def _breakglass(self, u: RefUpdate, rule: str, with_content: bool) -> dict[str, object]:
        """The content the ref held before against what it holds after (the empty tree for a ref that
        did not exist or no longer does), and the commits that came in."""
        old, new = (None if is_null(u.old) else git.peel(u.old)), (None if is_null(u.new) else git.peel(u.new))
        body: dict[str, object] = {"base": old}
        if rule == PROTECTED_BRANCH and old and new:
            body["fast_forward"] = git.is_ancestor(old, new)
        body["changes"] = self._changes(old or self.empty, new or self.empty, with_content=with_content and bool(new))
        body["commits"] = git.commits([new] if not old else [new, f"^{old}"]) if new else []
        return body

    def _protected(self, u: RefUpdate) -> dict[str, object]:
        if is_null(u.old):
            others = {r: s for r, s in self.protected_tips().items() if r != u.ref}
            return {"base": None, "copy_of": sorted(r for r, s in others.items() if s == u.new),
                    "protected_exists": bool(others), "fast_forward": True}
        return {"base": u.old, "fast_forward": git.is_ancestor(u.old, u.new)}

    def _topic(self, u: RefUpdate) -> dict[str, object]:
        given = (option(self.options, "target") or "").strip().removeprefix("refs/heads/")
        target = given or default_target(self.protected)
        # merge-base fails when the target does not exist yet: then the topic is compared with the empty tree.
        base = git.merge_base(f"refs/heads/{target}", u.new) if target else None
        return {"target": target, "base": base}

    def _changes(self, base: str, new: str, *, with_content: bool) -> list[dict[str, object]]:
        raw = git.diff_tree(base, new)
        for c in raw:
            check_name(c.path)
        changes: list[dict[str, object]] = [c._asdict() for c in raw]
        if not with_content or not raw:
            return changes
        formats = {c.path: self.config.format_of(c.path) for c in raw}
        limit = max(self.config.max_content_bytes, LINE_DIFF_LIMIT)
        blobs, sizes = git.read_blobs([s for c in raw for s in (c.old_blob, c.new_blob)], limit)
        for c, item in zip(raw, changes, strict=True):
            fmt = formats[c.path]
            cap = self.config.max_content_bytes if fmt else LINE_DIFF_LIMIT
            for side, sha in (("old", c.old_blob), ("new", c.new_blob)):
                if is_null(sha):
                    continue
                data = blobs.get(sha)
                if data is None or len(data) > cap:
                    item[f"{side}_too_large"] = sizes.get(sha, 0)
                elif fmt or b"\x00" not in data[:8000]:
                    item[f"{side}_content"] = base64.b64encode(data).decode("ascii")
                else:
                    item["binary"] = True
            if fmt:
                item["format"] = fmt
        return changes

    def _context(self, new: str, changes: list[dict[str, object]]) -> list[dict[str, str]]:
        """Tag configurations and mappings of the whole tree, for the ERP mapping cross-file check."""
        if not any(c.get("format") in CONTEXT_FORMATS for c in changes):
            return []
        files = [(sha, path, self.config.format_of(path)) for _, sha, path in git.ls_tree(new)]
        files = [f for f in files if f[2] in CONTEXT_FORMATS]
        blobs, _ = git.read_blobs([f[0] for f in files], self.config.max_content_bytes)
        return [{"path": path, "format": fmt or "", "blob": sha,
                 "content": base64.b64encode(blobs[sha]).decode("ascii")}
                for sha, path, fmt in files if sha in blobs]
