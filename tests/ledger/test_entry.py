"""Entry hashes (``ledger.entry``): the same fields give the same hash, any change another."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.entry import GENESIS_HASH, LOG_DOMAIN, Entry, entry_hash
from tests.ledger.test_canonical import entries, hexes, payloads


@given(entries)
def test_same_fields_same_hash_whatever_the_key_order(fields: dict[str, Any]) -> None:
    reordered = json.loads(json.dumps(dict(reversed(list(fields["payload"].items())))))
    assert entry_hash(**fields) == entry_hash(**{**fields, "payload": reordered})
    assert entry_hash(**fields) == entry_hash(**json.loads(json.dumps(fields)))


@given(entries, st.data())
def test_any_change_of_any_field_changes_the_hash(fields: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(fields)))
    strategy = {"seq": st.integers(1, 2**40), "payload": payloads, "prev_hash": hexes}.get(name, st.text(max_size=40))
    changed = data.draw(strategy.filter(lambda v: canon(v) != canon(fields[name])))
    assert entry_hash(**fields) != entry_hash(**{**fields, name: changed})


def test_the_hash_is_domain_separated_and_an_entry_recomputes_its_own() -> None:
    fields = {"seq": 1, "ts": "2026-01-01T00:00:00.000000Z", "kind": "k", "actor": "a", "payload": {"x": 1},
              "prev_hash": GENESIS_HASH}
    bare = hashlib.sha256(canon(fields)).hexdigest()
    assert entry_hash(**fields) == hashlib.sha256(LOG_DOMAIN + canon(fields)).hexdigest() != bare
    entry = Entry(**fields, hash=entry_hash(**fields))
    assert entry.computed_hash() == entry.hash
    assert entry.to_dict() == {**fields, "hash": entry.hash}
