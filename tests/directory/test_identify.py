"""directory.identify: each person resolved once, to a directory user or an explicit unknown that
names who it looks like (issue 22 item 6, issue 23 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.directory.file import FileDirectory
from gatekeeper.directory.identify import resolve_address, resolve_co_author, resolve_username, skeleton
from tests.support.plant import directory_toml


@pytest.fixture
def directory(tmp_path: Path) -> FileDirectory:
    path = tmp_path / "directory.toml"
    path.write_text(directory_toml())
    return FileDirectory(path)


def test_a_known_person_is_the_directory_user_in_its_own_spelling(directory: FileDirectory) -> None:
    who = resolve_username(directory, " Carol ")
    assert who.known and who.name == "carol"
    author = resolve_address(directory, "Carol@Plant.Example")
    assert author.known and author.name == "carol" and author.hidden == ()


def test_unknown_is_explicit_and_names_who_it_imitates(directory: FileDirectory) -> None:
    cases = {"carol+ot@plant.example": "carol", "carol@ot.plant.example": "carol",
             "c\u0430rol@plant.example": "carol",       # a Cyrillic а: the same TR39 skeleton
             "ca\u200brol@plant.example": "carol"}      # a zero-width space
    for given, like in cases.items():
        who = resolve_address(directory, given)
        assert not who.known and who.name == given and who.resembles == (like,), given
    assert resolve_address(directory, "ca\u200brol@plant.example").hidden == ("U+200B ZERO WIDTH SPACE",)
    nobody = resolve_address(directory, "jane@integrator.example")
    assert (nobody.known, nobody.resembles) == (False, ())
    assert resolve_username(directory, "c\u0430rol").resembles == ("carol",)


def test_a_display_name_imitating_a_user_is_named(directory: FileDirectory) -> None:
    who = resolve_address(directory, "someone@else.example", "C\u0430rol Lead")
    assert not who.known and who.resembles == ("carol",)


def test_a_bare_name_co_author_is_someone_only_when_exactly_one_user_has_that_name(
        directory: FileDirectory) -> None:
    assert resolve_co_author(directory, "Gina Lead").name == "gina"
    assert resolve_co_author(directory, "gina").known
    assert not resolve_co_author(directory, "Nobody Here").known
    assert resolve_co_author(directory, "G\u0456na Lead").resembles == ("gina",)  # a Cyrillic і


def test_skeletons_fold_confusables_and_case() -> None:
    assert skeleton("c\u0430rol") == skeleton("CAROL") != skeleton("carl")
