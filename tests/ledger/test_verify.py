"""ledger.verify: every kind of tampering is caught and named by its first bad seq (SPEC §8, §10)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.errors import InputError, LedgerBroken
from gatekeeper.ledger.canonical import canon
from gatekeeper.ledger.checkpoint import Checkpoint, sign
from gatekeeper.ledger.entry import GENESIS_HASH, Entry, entry_hash
from gatekeeper.ledger.events import LOG_CHECKPOINT
from gatekeeper.ledger.jsonl import entry_line, row_line
from gatekeeper.ledger.verify import verify, verify_lines, verify_rows

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
TS = "2024-05-01T08:00:{:02d}.000000Z"


def make(seq: int, prev: str, payload: dict[str, object] | None = None, kind: str = "change.opened") -> Entry:
    payload = {"change_id": seq, "title": f"Recipe ü{seq}"} if payload is None else payload
    ts = TS.format(seq % 60)
    return Entry(seq, ts, kind, "alice", payload, prev, entry_hash(seq, ts, kind, "alice", payload, prev))


def chain(n: int = 10) -> list[Entry]:
    out: list[Entry] = []
    for seq in range(1, n + 1):
        out.append(make(seq, out[-1].hash if out else GENESIS_HASH))
    return out


def rehash(e: Entry, **changes: object) -> Entry:
    e = dataclasses.replace(e, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(e, hash=e.computed_hash())


def rechain(entries: list[Entry], start: int) -> list[Entry]:
    """What a careful attacker does after a change: recompute every later prev_hash and hash."""
    out = entries[:start - 1]
    for e in entries[start - 1:]:
        out.append(rehash(e, seq=len(out) + 1, prev_hash=out[-1].hash if out else GENESIS_HASH))
    return out


def cp_of(entries: list[Entry], seq: int, key: Ed25519PrivateKey = KEY) -> Checkpoint:
    return sign(seq, entries[seq - 1].hash, "2024-05-02T00:00:00.000000Z", key)


def edited(es: list[Entry]) -> list[Entry]:
    es[3] = dataclasses.replace(es[3], payload={"change_id": 4, "title": "forged"})
    return es


def edited_rehashed(es: list[Entry]) -> list[Entry]:
    es[3] = rehash(es[3], payload={"change_id": 4, "title": "forged"})
    return es


def edited_rechained(es: list[Entry]) -> list[Entry]:
    es[3] = dataclasses.replace(es[3], actor="mallory")
    return rechain(es, 4)


def inserted(es: list[Entry]) -> list[Entry]:
    return [*es[:3], make(4, es[2].hash, {"forged": True}), *es[3:]]


def inserted_rechained(es: list[Entry]) -> list[Entry]:
    return rechain([*es[:3], make(4, es[2].hash, {"forged": True}), *es[3:]], 4)


def inserted_renumbered(es: list[Entry]) -> list[Entry]:
    """As a DBA would: shift seq of the later rows by one (hashes unchanged), add a row at seq 4."""
    later = [dataclasses.replace(e, seq=e.seq + 1) for e in es[3:]]
    return [*es[:3], make(4, es[2].hash, {"forged": True}), *later]


def deleted(es: list[Entry]) -> list[Entry]:
    return es[:3] + es[4:]


def deleted_rechained(es: list[Entry]) -> list[Entry]:
    return rechain(es[:3] + es[4:], 4)


def reordered(es: list[Entry]) -> list[Entry]:
    es[3], es[4] = es[4], es[3]
    return es


def duplicated(es: list[Entry]) -> list[Entry]:
    return [*es[:4], es[3], *es[4:]]


def truncated(es: list[Entry]) -> list[Entry]:
    return es[:6]


def genesis_changed(es: list[Entry]) -> list[Entry]:
    es[0] = rehash(es[0], prev_hash="1" * 64)
    return es


# (name, tampering, first bad seq, reason); the chain has 10 entries and a checkpoint of seq 8.
TAMPERING: list[tuple[str, Callable[[list[Entry]], list[Entry]], int, str]] = [
    ("edit", edited, 4, "hash does not recompute"),
    ("edit and rehash", edited_rehashed, 4, "does not match the prev_hash recorded by seq 5"),
    ("edit and rewrite the rest", edited_rechained, 8, "differs from the signed checkpoint"),
    ("insert", inserted, 4, "seq 4 appears again"),
    ("insert and renumber", inserted_renumbered, 4, "entry inserted: seq 5 links to seq 3"),
    ("insert and rewrite the rest", inserted_rechained, 8, "differs from the signed checkpoint"),
    ("delete", deleted, 4, "entry missing: seq 5 follows seq 3"),
    ("delete and rewrite the rest", deleted_rechained, 8, "differs from the signed checkpoint"),
    ("reorder", reordered, 4, "entry missing: seq 5 follows seq 3"),
    ("duplicate", duplicated, 4, "seq 4 appears again after seq 4"),
    ("truncate behind the checkpoint", truncated, 7, "ends at seq 6 but a signed checkpoint covers seq 8"),
    ("change the genesis link", genesis_changed, 1, "not the genesis hash"),
]


@pytest.mark.parametrize(("name", "tamper", "seq", "reason"), TAMPERING, ids=[t[0] for t in TAMPERING])
@pytest.mark.parametrize("form", ["entries", "lines", "rows"])
def test_tampering_names_the_first_bad_seq(name: str, tamper: Callable[[list[Entry]], list[Entry]], seq: int,
                                           reason: str, form: str) -> None:
    original = chain()
    cp = cp_of(original, 8)
    forged = tamper(list(original))
    with pytest.raises(LedgerBroken, match=reason) as info:
        _verify(form, forged, [cp])
    assert info.value.seq == seq
    assert info.value.message.startswith(f"FAILED at seq {seq}: ")


def _verify(form: str, entries: list[Entry], cps: list[Checkpoint]) -> object:
    if form == "entries":
        return verify(entries, cps, KEY.public_key())
    if form == "lines":
        return verify_lines([entry_line(e) for e in entries], cps, KEY.public_key())
    rows = [(e.seq, e.ts, e.kind, e.actor, canon(e.payload).decode(), e.prev_hash, e.hash) for e in entries]
    return verify_rows(rows, cps, KEY.public_key())


def test_intact_chain_verifies_with_summary() -> None:
    es = chain()
    summary = verify(es, [cp_of(es, 8), cp_of(es, 10)], KEY.public_key())
    assert (summary.count, summary.head_seq, summary.head_hash, summary.checkpoints) == (10, 10, es[-1].hash, 2)
    assert "10 entries" in summary.describe()


def test_empty_log_verifies_but_not_against_a_checkpoint() -> None:
    assert verify([]).count == 0
    with pytest.raises(LedgerBroken, match="ends at seq 0") as info:
        verify([], [cp_of(chain(), 3)], KEY.public_key())
    assert info.value.seq == 1


def test_tail_truncation_without_a_checkpoint_goes_unnoticed() -> None:
    """Why checkpoints must be anchored outside the database: the chain alone cannot see a cut tail."""
    assert verify(chain()[:6]).count == 6


def test_the_first_of_several_faults_is_named() -> None:
    es = edited(chain())
    del es[7]
    with pytest.raises(LedgerBroken) as info:
        verify(es, [cp_of(chain(), 10)], KEY.public_key())
    assert info.value.seq == 4


def test_forged_checkpoint_signature_is_caught() -> None:
    es = chain()
    good = cp_of(es, 8)
    forged = dataclasses.replace(good, hash=es[8].hash, seq=9)  # moved to another entry, same signature
    with pytest.raises(LedgerBroken, match="signature is invalid") as info:
        verify(es, [forged], KEY.public_key())
    assert info.value.seq == 9


def test_checkpoint_of_another_key_or_without_key_is_unusable_input() -> None:
    es = chain()
    with pytest.raises(InputError, match="signed with key"):
        verify(es, [cp_of(es, 8, OTHER_KEY)], KEY.public_key())
    with pytest.raises(InputError, match="needs the public key"):
        verify(es, [cp_of(es, 8)], None)


def _with_log_checkpoint(es: list[Entry], key: Ed25519PrivateKey = KEY) -> list[Entry]:
    """Append a log.checkpoint entry certifying the head, as store.log.checkpoint_head does."""
    cp = cp_of(es, len(es), key)
    return [*es, make(len(es) + 1, es[-1].hash, cp.to_dict(), kind=LOG_CHECKPOINT)]


def test_log_checkpoint_entries_are_verified() -> None:
    es = _with_log_checkpoint(chain(5))
    assert verify(es, (), KEY.public_key()).log_checkpoints == 1
    assert verify(es).unsigned_log_checkpoints == 1
    assert verify(_with_log_checkpoint(chain(5), OTHER_KEY), (), KEY.public_key()).unsigned_log_checkpoints == 1


def test_log_rewritten_before_a_log_checkpoint_is_caught() -> None:
    """A DBA rewrites seq 3 onwards but cannot re-sign the log.checkpoint entry at seq 6."""
    es = _with_log_checkpoint(chain(5))
    es[2] = dataclasses.replace(es[2], actor="mallory")
    with pytest.raises(LedgerBroken, match=r"signed by the log\.checkpoint at seq 6") as info:
        verify(rechain(es, 3), (), KEY.public_key())
    assert info.value.seq == 5


def test_log_checkpoint_with_a_forged_signature_is_caught() -> None:
    es = _with_log_checkpoint(chain(5))
    payload = dict(es[5].payload, signature=cp_of(es, 4).signature)
    es[5] = rehash(es[5], payload=payload)
    with pytest.raises(LedgerBroken, match=r"log\.checkpoint checkpoint signature is invalid") as info:
        verify(es, (), KEY.public_key())
    assert info.value.seq == 6


def test_non_canonical_but_equal_lines_verify() -> None:
    """An export reformatted by some tool still verifies: the slow path parses and re-encodes."""
    lines = [json.dumps(e.to_dict(), indent=None, ensure_ascii=True).encode() + b"\n" for e in chain()]
    assert verify_lines(lines).count == 10


@pytest.mark.parametrize(("line", "message"), [
    (b"\n", "line 3: empty line"),
    (b"{not json}\n", "line 3: not JSON"),
    (b"[]\n", "line 3: not a JSON object"),
    (b'{"seq":3}\n', "line 3: field 'ts' is missing"),
])
def test_unusable_lines_are_input_errors(line: bytes, message: str) -> None:
    lines = [entry_line(e) for e in chain(2)] + [line]
    with pytest.raises(InputError, match=message):
        verify_lines(lines)


def test_duplicate_json_keys_are_refused() -> None:
    line = entry_line(chain(1)[0]).replace(b'"actor":"alice"', b'"actor":"alice","actor":"bob"')
    with pytest.raises(InputError, match="duplicate key 'actor'"):
        verify_lines([line])


def test_row_lines_and_entry_lines_are_the_same_bytes() -> None:
    for e in chain(3):
        assert row_line(e.seq, e.ts, e.kind, e.actor, canon(e.payload).decode(), e.prev_hash, e.hash) == entry_line(e)


def test_progress_is_reported() -> None:
    seen: list[int] = []
    verify(chain(), progress=seen.append)
    assert seen[-1] == 10


def test_the_writers_lines_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Performance guard: no line of an intact log needs the field-by-field check."""
    import gatekeeper.ledger.verify as v

    def refuse(*_args: object) -> bytes:
        raise AssertionError("slow path taken")

    monkeypatch.setattr(v, "_check_parsed", refuse)
    es = _with_log_checkpoint(chain())
    assert verify(es, [cp_of(es, 10)], KEY.public_key()).count == 11


def test_other_timestamp_shapes_verify_by_the_slow_path() -> None:
    out: list[Entry] = []
    for seq, ts in enumerate(["2024-05-01T08:00:00Z", "2024-05-01T10:00:00.5+02:00", "x"], 1):
        prev = out[-1].hash if out else GENESIS_HASH
        out.append(Entry(seq, ts, "k", "a", {}, prev, entry_hash(seq, ts, "k", "a", {}, prev)))
    assert verify(out).count == 3
    with pytest.raises(LedgerBroken, match="hash does not recompute") as info:
        verify([*out[:2], dataclasses.replace(out[2], ts="y")])
    assert info.value.seq == 3
