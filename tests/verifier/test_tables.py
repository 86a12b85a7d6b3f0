"""The register's and approvals' quick paths give what the plain ones give (issue 21, verifier speed):
``csv_pieces`` checks a batch of rows at once, the verifier renders rows from their values in column order
(list cells already text), and the tally counts from the few fields it reads. Pure: no pack, no service."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.verifier.metrics import TALLIED, Tally
from gatekeeper.verifier.projection import Params, Projection, register_row, register_values, tallied
from gatekeeper.verifier.tables import APPROVAL_COLUMNS, CSV_BATCH, REGISTER_COLUMNS, cells, cells_of, csv_pieces

# Everything that makes a cell other than plain: commas, quotes, line ends, formula starts, and the
# characters the quick path joins texts with while it checks them.
ODD = (",", "a,b", '"', "\r", "\n", "=1", "+1", "-1", "@a", "\ta", "\x00", "a\x00b", "\x01", "\x00\x01\x00", "a\x01")
PLAIN = st.text("ab é,'", max_size=6)
VALUE = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), PLAIN, PLAIN, PLAIN, st.sampled_from(ODD),
                  st.text(",\"\r\n =-+@\t'aé\x00\x01", max_size=4), st.lists(st.integers(-1, 9), max_size=3),
                  st.lists(PLAIN, max_size=2),
                  st.lists(st.fixed_dictionaries({"group": PLAIN, "count": st.integers(0, 2)}), max_size=2))


def as_csv_writer_writes(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(cells(r, columns) for r in rows)
    return out.getvalue()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(VALUE, min_size=4, max_size=4), max_size=8), st.integers(1, 4))
def test_rows_render_as_csv_writer_writes_their_cells_as_mappings_and_as_values(rows: list[list[Any]],
                                                                                width: int) -> None:
    columns = [f"c{i}" for i in range(width)]
    dicts = [dict(zip(columns, r, strict=False)) for r in rows]
    want = as_csv_writer_writes(columns, dicts)
    assert "".join(text for text, _ in csv_pieces(columns, dicts)) == want
    assert "".join(text for text, _ in csv_pieces(columns, [r[:width] for r in rows], values=True)) == want
    assert sum(n for _, n in csv_pieces(columns, dicts)) == len(rows)


def test_a_row_unlike_the_others_is_rendered_alone_in_a_batch_of_many() -> None:
    columns = ["id", "title", "seqs"]
    rows = [{"id": i, "title": f"change {i}, fixed", "seqs": [i, i + 1]} for i in range(CSV_BATCH + 5)]
    rows[3]["title"] = "=cmd()"                  # a formula, in the first batch
    rows[CSV_BATCH + 1]["title"] = 'say "hi"'    # a quote, in the second
    rows[CSV_BATCH + 2]["id"] = -1               # a number that reads as a formula
    pieces = list(csv_pieces(columns, rows))
    assert [n for _, n in pieces] == [CSV_BATCH, 5]
    assert "".join(text for text, _ in pieces) == as_csv_writer_writes(columns, rows)


def test_each_odd_cell_anywhere_in_a_batch_of_plain_rows_renders_as_csv_writer_writes_it() -> None:
    columns = ["a", "b", "c"]
    for odd in ODD:
        for row in range(3):
            for column in columns:
                rows: list[dict[str, Any]] = [{"a": i, "b": "x, y", "c": "z"} for i in range(3)]
                rows[row][column] = odd
                assert "".join(t for t, _ in csv_pieces(columns, rows)) == as_csv_writer_writes(columns, rows), \
                    (odd, row, column)


def projection() -> Projection:
    """A projection of changes of every shape the register has: approved and deployed, deployed without
    the approval counting, emergency ratified late and still open, with findings, commas and formulas."""
    pr = Projection(Params("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-01-20T00:00:00Z", 1 << 30))
    rules = [{"group": "leads", "count": 1}]
    entries: list[tuple[str, str, str, dict[str, Any]]] = []
    for cid, title in ((1, "plain"), (2, "a, b"), (3, "=sum()"), (4, "late"), (5, "open"), (6, "unsigned")):
        opened = {"change_id": cid, "repo": "r", "target": "main", "revision": 1, "fingerprint": f"f{cid}",
                  "title": title, "ticket": "", "state": "pending", "categories": ["c", "d"] if cid % 2 else [],
                  "financial": cid == 2, "sod_findings": ["took part"] if cid == 3 else [],
                  "approvals_required": rules}
        if cid in (4, 5):
            opened["emergency_reason"] = "down"
        entries.append((f"2026-01-0{cid}T00:00:00Z", "change.opened", "alice", opened))
    for cid in (1, 2, 3):
        entries.append((f"2026-01-0{cid}T01:00:00Z", "change.approved", "carol", {
            "change_id": cid, "revision": 1, "fingerprint": f"f{cid}", "signer": "carol", "name": "Carol, Lead",
            "group": "leads", "decision": "approve", "meaning": "ok", "comment": "", "memberships": [],
            "state": "approved"}))
    for cid in (1, 2, 6):
        entries.append((f"2026-01-0{cid}T02:00:00Z", "change.deployed", "alice", {
            "change_id": cid, "repo": "r", "ref": "refs/heads/main", "new": "1" * 40, "state": "deployed"}))
    for cid in (4, 5):
        entries.append((f"2026-01-0{cid}T03:00:00Z", "emergency.deployed", "bob", {
            "change_id": cid, "repo": "r", "ref": "refs/heads/main", "new": "2" * 40, "reason": "down",
            "deadline": "2026-01-08T00:00:00Z", "state": "emergency"}))
    entries.append(("2026-01-09T00:00:00Z", "change.approved", "carol", {
        "change_id": 4, "revision": 1, "fingerprint": "f4", "signer": "carol", "name": "Carol", "group": "leads",
        "decision": "approve", "meaning": "ok", "comment": "", "memberships": [], "state": "retro-approved"}))
    for seq, (ts, kind, actor, payload) in enumerate(entries, 1):
        pr.add(seq, ts, kind, actor, payload)
    return pr


def test_a_register_row_its_values_its_texts_and_what_the_tally_reads_agree() -> None:
    pr = projection()
    now, texts = pr.params.now, dict[int, Any]()
    whole, light = Tally(pr.params.start, pr.params.end), Tally(pr.params.start, pr.params.end)
    population = pr.population()
    assert [c.id for c in population] == [1, 2, 3, 4, 5, 6]
    for c in population:
        row = register_row(c, now)
        assert register_values(c, now) == tuple(row[k] for k in REGISTER_COLUMNS)
        assert cells_of(register_values(c, now, None, texts)) == cells(row, REGISTER_COLUMNS)
        few = tallied(c, now)
        assert few == {k: row[k] for k in TALLIED}
        whole.add(row)
        light.add(few, lambda c=c: register_row(c, now))  # type: ignore[misc]
    assert (light.counts, light.by_week, light.by_category, light.lead_times, light.incomplete) == \
        (whole.counts, whole.by_week, whole.by_category, whole.lead_times, whole.incomplete)
    assert light.counts["emergency_retro_late"] == 1 and light.counts["emergency_open"] == 1
    assert [r["change_id"] for r in light.incomplete] == [6]
    tables = pr.finish()
    assert [cells_of(v) for v in tables.approvals_values()] == [cells(r, APPROVAL_COLUMNS) for r in tables.approvals()]
