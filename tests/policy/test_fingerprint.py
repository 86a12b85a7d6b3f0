from __future__ import annotations

import hashlib
import json

import pytest

from gatekeeper.errors import InputError
from gatekeeper.policy.fingerprint import FileChange, fingerprint

A = "a" * 40
B = "b" * 40
Z = "0" * 40


def test_fingerprint_is_the_spec_encoding() -> None:
    patch = [FileChange("b.txt", A, B, "100644", "100644"), FileChange("a.txt", Z, A, "000000", "100644")]
    entries = sorted([[p.path, p.old_blob, p.new_blob, p.old_mode, p.new_mode] for p in patch])
    expected = hashlib.sha256(b"gatekeeper.patch.v1\x00" + json.dumps(
        entries, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert fingerprint(patch) == expected
    assert fingerprint(reversed(patch)) == expected  # order of the push does not matter


@pytest.mark.parametrize("field", ["path", "old_blob", "new_blob", "old_mode", "new_mode"])
def test_any_field_changes_the_fingerprint(field: str) -> None:
    base = FileChange("a.txt", A, B, "100644", "100644")
    values = {"path": "b.txt", "old_blob": B, "new_blob": A, "old_mode": "100755", "new_mode": "100755"}
    changed = FileChange(**{**base.__dict__, field: values[field]})
    assert fingerprint([base]) != fingerprint([changed])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"old_blob": "xyz"}, "bad blob id"),
    ({"new_mode": "644"}, "bad mode"),
    ({"path": ""}, "bad path"),
])
def test_bad_values_are_refused(kwargs: dict[str, str], message: str) -> None:
    fields = {"path": "a", "old_blob": A, "new_blob": B, "old_mode": "100644", "new_mode": "100644"} | kwargs
    with pytest.raises(InputError, match=message):
        FileChange(**fields)


def test_status() -> None:
    assert FileChange("a", Z, A, "000000", "100644").status == "added"
    assert FileChange("a", A, Z, "100644", "000000").status == "deleted"
    assert FileChange("a", A, B, "100644", "120000").status == "type-changed"
    assert FileChange("a", A, B, "100644", "100755").status == "modified"
