"""What a ref update is (SPEC §2, §7): the all-zeros object id, branch refs, names that are patterns.

Standard library only and nothing heavier than ``str``: the hooks import this on every push, and
the service, the hooks and the auditor's reconciliation must agree on what "created" and "deleted" mean.
"""

from __future__ import annotations

HEADS = "refs/heads/"
TAGS = "refs/tags/"
WILDCARDS = "*?["  # characters that make a branch name a pattern (policy.categories)


def is_null(sha: str) -> bool:
    """Git's "no object" id (40 or 64 zeros): the ``old`` of a creation, the ``new`` of a deletion, the
    blob of an added or deleted file's missing side."""
    return not sha.strip("0")


def created(old: str) -> bool:
    """An update whose ``old`` is the null id creates the ref."""
    return is_null(old)


def deleted(new: str) -> bool:
    """An update whose ``new`` is the null id deletes the ref."""
    return is_null(new)


def branch_name(ref: str) -> str | None:
    """``refs/heads/x`` → ``x``; ``None`` for any other ref."""
    return ref[len(HEADS):] if ref.startswith(HEADS) else None


def is_pattern(name: str) -> bool:
    """Whether a branch name is a protection pattern (``release/*``) rather than one branch."""
    return any(ch in name for ch in WILDCARDS)


def tag_name(ref: str) -> str | None:
    """``refs/tags/v1`` → ``v1``; ``None`` for any other ref."""
    return ref[len(TAGS):] if ref.startswith(TAGS) else None


# Every ref has a rule (issue 22 item 3, SPEC §12 "Refs"): what ``categories.rule_of`` answers.
PROTECTED_BRANCH = "protected-branch"   # the gate (SPEC §2)
TOPIC = "topic"                         # accepted; a change request is opened for it
PROTECTED_TAG = "protected-tag"         # created only on a commit a protected branch holds; never moved
TAG = "tag"                             # accepted and logged (``ref.updated``)
LISTED = "listed"                       # outside refs/heads and refs/tags, listed in ``other_refs``: logged
UNLISTED = "unlisted"                   # outside refs/heads and refs/tags, not listed: refused
GATED = (PROTECTED_BRANCH, PROTECTED_TAG, UNLISTED)   # decided by the service before git moves the ref
