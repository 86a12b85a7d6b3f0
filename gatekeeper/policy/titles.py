"""A change request's title and description per revision (issue 25 item 3): the title follows the content.

A revision's title is the push option ``gatekeeper.title`` when given; otherwise, unless the author set
one with that option on an earlier revision (then it stays theirs), the subject of the latest commit,
so revision 3 that changes one value no longer carries revision 1's title. The description works
the same with ``gatekeeper.description`` and never falls back to a commit message.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TITLE = 500
MAX_DESCRIPTION = 4000
OPTION, COMMIT, REF = "option", "commit", "ref"  # where a title came from


@dataclass(frozen=True)
class Title:
    text: str
    source: str          # OPTION (the author set it), COMMIT (latest subject) or REF (no commits: the branch)
    description: str = ""   # only ever from a push option, so a non-empty one stays until replaced


def choose(option_title: str | None, option_description: str | None, latest_subject: str | None, ref: str,
           previous: Title | None = None) -> Title:
    """The title and description of a new revision (``previous``: the CR's current revision's)."""
    option_title = (option_title or "").strip()
    if option_title:
        text, source = option_title, OPTION
    elif previous is not None and previous.source == OPTION:
        text, source = previous.text, OPTION
    elif (latest_subject or "").strip():
        text, source = (latest_subject or "").strip(), COMMIT
    elif previous is not None:
        text, source = previous.text, previous.source
    else:
        text, source = ref, REF
    description = (option_description or "").strip() or (previous.description if previous is not None else "")
    return Title(" ".join(text.split())[:MAX_TITLE], source, description[:MAX_DESCRIPTION])
