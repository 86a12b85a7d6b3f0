"""policy.identity: invisible characters named, the forms an address takes to imitate another, findings."""

from __future__ import annotations

from gatekeeper.policy import identity
from gatekeeper.policy.people import Identity, User

CAROL = User("carol", "Carol Lead", "carol@plant.example")


def test_invisible_characters_are_named_and_shown_escaped() -> None:
    given = "ca\u200brol\u034f@plant.example"
    assert identity.hidden_characters(given) == ("U+200B ZERO WIDTH SPACE", "U+034F COMBINING GRAPHEME JOINER")
    assert identity.visible(given) == "carol@plant.example"
    assert identity.shown(given) == "ca\\u200brol\\u034f@plant.example"
    assert identity.hidden_characters("carol@plant.example") == ()


def test_the_addresses_an_address_may_stand_for() -> None:
    forms = identity.address_forms("carol+ot@ot.plant.example")
    assert ("carol@ot.plant.example", "a +tag") in forms and ("carol@plant.example", "a sub-domain") in forms
    assert ("carol@example", "a sub-domain") not in forms  # never up to a bare top-level domain
    assert identity.address_forms("ca\u200brol@plant.example") == [("carol@plant.example", "invisible characters")]
    assert identity.address_forms("no address") == []


def test_external_identities_match_whole_addresses_without_invisible_characters() -> None:
    pats = ("*@integrator.example",)
    assert identity.is_external("Jane@Integrator.Example", pats)
    assert not identity.is_external("jane@integrator.example.evil", pats)
    assert not identity.is_external("ja\u200bne@integrator.example", pats)
    assert identity.external_pattern_problem("*@*") is not None
    assert identity.external_pattern_problem("jane") is not None
    assert identity.external_pattern_problem("*@integrator.example") is None


def test_findings_per_role_and_mode() -> None:
    unknown = Identity("carol+ot@plant.example", None, ("carol",))
    blocking, shown = identity.commit_findings(identity.AUTHOR, unknown, identity.BLOCK, ())
    assert [r.code for r in blocking] == ["sod.unknown_commit_identity"]
    assert [r.code for r in shown] == ["sod.lookalike_identity"] and "looks like carol" in shown[0].message
    blocking, shown = identity.commit_findings(identity.COMMITTER, unknown, identity.FLAG, ())
    assert blocking == [] and {r.code for r in shown} == {"sod.lookalike_identity", "sod.unknown_commit_identity"}
    assert identity.commit_findings(identity.AUTHOR, Identity("carol@plant.example", CAROL), identity.BLOCK, ()) \
        == ([], [])
    blocking, shown = identity.commit_findings(identity.CO_AUTHOR, Identity("Nobody"), identity.BLOCK, ())
    assert blocking == [] and shown[0].code == "sod.unknown_co_author" and "a name without an address" in \
        shown[0].message
    blocking, shown = identity.commit_findings(identity.AUTHOR, Identity("j@integrator.example"), identity.BLOCK,
                                               ("*@integrator.example",))
    assert blocking == [] and shown[0].code == "sod.external_identity"
