"""A revision's title and description (``policy.titles``, issue 25 item 3): the title follows the content
unless the author chose it; the description only ever comes from the push option and stays until replaced."""

from __future__ import annotations

import pytest

from gatekeeper.policy.titles import COMMIT, MAX_DESCRIPTION, MAX_TITLE, OPTION, REF, Title, choose


@pytest.mark.parametrize(("option", "subject", "previous", "expected"), [
    ("Raise RPM", "wip", None, Title("Raise RPM", OPTION)),
    (None, "Raise mixer speed to 240 rpm", None, Title("Raise mixer speed to 240 rpm", COMMIT)),
    (None, None, None, Title("refs/heads/raise", REF)),
    # the title follows the content: a later revision takes its latest commit's subject...
    (None, "Only 250 rpm now", Title("Raise to 240 rpm and add a step", COMMIT), Title("Only 250 rpm now", COMMIT)),
    # ...unless the author chose the title (then it stays theirs until they set another)
    (None, "fixup", Title("Mixing recipe v2", OPTION), Title("Mixing recipe v2", OPTION)),
    ("Mixing recipe v3", "fixup", Title("Mixing recipe v2", OPTION), Title("Mixing recipe v3", OPTION)),
    ("   ", "  spaced   subject ", None, Title("spaced subject", COMMIT)),
])
def test_title_per_revision(option: str | None, subject: str | None, previous: Title | None, expected: Title) -> None:
    assert choose(option, None, subject, "refs/heads/raise", previous) == expected


def test_description_is_kept_until_replaced() -> None:
    first = choose(None, "Why: line 3 overheats", "s", "r")
    assert first.description == "Why: line 3 overheats"
    assert choose(None, None, "t", "r", first).description == "Why: line 3 overheats"
    assert choose(None, "New reason", "t", "r", first).description == "New reason"
    assert len(choose("x" * 900, "y" * 9000, None, "r").text) == 500


def test_a_revision_without_a_subject_keeps_the_previous_title_and_its_source() -> None:
    # revision 2 has no commits (a bare ref update): it keeps revision 1's commit title, still a COMMIT one,
    # so revision 3's subject replaces it again
    kept = choose(None, None, "   ", "refs/heads/raise", Title("Raise RPM", COMMIT))
    assert kept == Title("Raise RPM", COMMIT)
    assert choose(None, None, "Lower RPM", "refs/heads/raise", kept) == Title("Lower RPM", COMMIT)
    assert choose(None, None, None, "refs/heads/raise", Title("refs/heads/raise", REF)).source == REF


def test_a_title_is_one_line_and_both_texts_are_bounded() -> None:
    multi = choose("Raise\n RPM\t to  240", None, None, "r")
    assert multi.text == "Raise RPM to 240"   # a title option cannot smuggle line breaks into pages or mails
    long = choose(None, "d" * (MAX_DESCRIPTION + 10), "s" * (MAX_TITLE + 10), "r")
    assert long == Title("s" * MAX_TITLE, COMMIT, "d" * MAX_DESCRIPTION)
    assert choose(None, "   ", "s", "r", Title("t", OPTION, "kept")).description == "kept"  # blank never erases
