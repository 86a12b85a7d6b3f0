"""People as policy sees them (``policy.people``): one folded key per name, the directory's spelling kept."""

from __future__ import annotations

from gatekeeper.policy.people import Membership, User, fold


def test_fold_makes_spellings_of_one_name_one_key() -> None:
    assert fold("Carol") == fold("ＣＡＲＯＬ") == fold("𝐜𝐚𝐫𝐨𝐥") == fold("  carol ") == "carol"
    assert fold("Straße") == fold("STRASSE")
    assert fold("carol") != fold("caro1")


def test_values_serialise_for_the_log_as_the_directory_spelled_them() -> None:
    user = User("Carol", "Carol Lead", "carol@plant.example", dn="uid=Carol,ou=people")
    assert user.to_dict() == {"username": "Carol", "name": "Carol Lead", "email": "carol@plant.example",
                              "dn": "uid=Carol,ou=people"}
    nested = Membership("ot-staff", ("engineers", "ot-staff"))
    assert nested.to_dict() == {"group": "ot-staff", "via": ["engineers", "ot-staff"], "dn": None}
    assert Membership("leads", ("leads",)) == Membership("leads", ("leads",))  # frozen values: hashable, comparable
