"""``verifier.names``: the changes a log entry's canonical payload names (a register row's ``log_seqs``)."""

from __future__ import annotations

import pytest

from gatekeeper.ledger.jsoncodec import canon
from gatekeeper.verifier.names import changes_named


@pytest.mark.parametrize(("payload", "named"), [
    ({"change_id": 7, "state": "approved"}, {7}),
    ({"change_ids": [3, 4], "x": 1}, {3, 4}),
    ({"refs": [{"deploys": [1, 2], "ref": "refs/heads/main"}], "matches_change": 9}, {1, 2, 9}),
    ({"changes": [{"change_id": 5}, {"change_id": 6}], "matches_change_id": -1}, {-1, 5, 6}),
    ({"change_id": None, "note": 'said "change_id":8 in a comment'}, set()),   # a string holds no key
    ({"change_id": 1.5}, set()),             # not an integer: no change has such an id
    ({"change_id": 2e3, "deploys": [1.5, 4]}, {4}),
    ({"title": "change_id deploys matches_change"}, set()),
])
def test_the_changes_a_payload_names(payload: dict[str, object], named: set[int]) -> None:
    assert changes_named(canon(payload)) == named
