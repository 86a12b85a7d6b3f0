"""The verifier's fast paths (issue 21, 200,000 entries/s) say exactly what the plain ones say, on real exports:
the log checked in parts by forked workers (``verifier.parallel``) or in this process alone, and a table
accepted on the SHA-256 of its rendering or compared row by row (``files.compare``)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.ledger.checkpoint import ed25519_verify, key_id
from gatekeeper.ledger.merkle import TreeBuilder, leaf_hash, perfect_subtrees
from gatekeeper.verifier import bundle, checks, parallel
from gatekeeper.verifier.checks import Options
from gatekeeper.verifier.logread import Failed
from gatekeeper.verifier.names import changes_named, names_of
from gatekeeper.verifier.packdir import open_file
from gatekeeper.verifier.projection import Params, Projection
from gatekeeper.verifier.tables import REGISTER_COLUMNS, cells, csv_pieces
from tests.audit.conftest import World, export
from tests.support.packs import remanifest, write_pack


@pytest.fixture(scope="module")
def pack(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(world, "zip", tmp_path_factory.mktemp("parallel"))


def unpack(pack: Path, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(pack) as zf:
        zf.extractall(where)
    return where


def run(folder: Path, jobs: int) -> tuple[str, list[str]]:
    """``verify`` with ``jobs`` processes for the log however short it is: its failure (or "") and its lines."""
    lines: list[str] = []
    kid = json.loads((folder / "checkpoint.json").read_text())["key_id"]
    opts = Options(key_ids={kid}, ed25519=ed25519_verify, self_sha256=bundle.sha256(), jobs=jobs, parallel_min=0)
    try:
        checks.verify(str(folder), opts, lines.append)
    except Failed as exc:
        return str(exc), lines
    return "", lines


def test_the_log_in_parts_gives_what_one_pass_gives(pack: Path, tmp_path: Path) -> None:
    folder = unpack(pack, tmp_path / "pack")
    with open_file(str(folder), "log.jsonl") as fh:
        size = fh.seek(0, 2)
        tail = checks._tail(fh, size)
        params = Params.from_export(tail["payload"])
        one, p1 = parallel.log_pass(fh, size, lambda: Projection(params, names=False), params.upto, jobs=1)
        many, p3 = parallel.log_pass(fh, size, lambda: Projection(params, names=False), params.upto, root_at=5,
                                     hash_at=7, jobs=3, parallel_min=0)
        marked, _ = parallel.log_pass(fh, size, lambda: Projection(params, names=False), params.upto, root_at=5,
                                      hash_at=7, jobs=1)
    assert (one.parts, many.parts) == (1, 3 * parallel.PARTS_PER_WORKER)   # the workers answered, not the fallback
    assert (many.size, many.head_hash, many.sha256, many.tree.root(), many.keys, many.log_checkpoints) == \
        (one.size, one.head_hash, one.sha256, one.tree.root(), one.keys, one.log_checkpoints)
    assert many.sha256 == hashlib.sha256((folder / "log.jsonl").read_bytes()).hexdigest()
    assert (many.mark_root, many.mark_hash) == (marked.mark_root, marked.mark_hash) != (None, None)
    t1, t3 = p1.finish(), p3.finish()
    assert [cells(r, REGISTER_COLUMNS) for r in t3.register()] == [cells(r, REGISTER_COLUMNS) for r in t1.register()]
    assert list(t3.approvals()) == list(t1.approvals()) and t3.exceptions == t1.exceptions
    assert t3.metrics == t1.metrics


def test_a_good_pack_reads_the_same_either_way(pack: Path, tmp_path: Path) -> None:
    folder = unpack(pack, tmp_path / "pack")
    assert run(folder, 1) == run(folder, 4)
    assert run(folder, 4)[0] == ""


def _flip_log(folder: Path) -> None:
    data = bytearray((folder / "log.jsonl").read_bytes())
    data[len(data) * 2 // 3] ^= 0x01
    (folder / "log.jsonl").write_bytes(bytes(data))


def _cut_log(folder: Path) -> None:
    (folder / "log.jsonl").write_bytes((folder / "log.jsonl").read_bytes()[:-1])


def _drop_register_row(folder: Path) -> None:
    rows = list(csv.reader(io.StringIO((folder / "register.csv").read_text("utf-8"), newline="")))
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows[:2] + rows[3:])
    (folder / "register.csv").write_bytes(out.getvalue().encode("utf-8"))


def _quote_every_cell(folder: Path) -> None:
    """The same cells, written otherwise: not the export's bytes, so the hash recorded in the log differs."""
    rows = list(csv.reader(io.StringIO((folder / "approvals.csv").read_text("utf-8"), newline="")))
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerows(rows)
    (folder / "approvals.csv").write_bytes(out.getvalue().encode("utf-8"))


@pytest.mark.parametrize(("edit", "expected"), [
    (_flip_log, "seq "),
    (_cut_log, "log.jsonl"),
    (_drop_register_row, "register.csv lacks change 2, log seqs "),
    (_quote_every_cell, "approvals.csv: SHA-256 "),
])
def test_a_tampered_pack_fails_alike_either_way(pack: Path, tmp_path: Path, edit: object, expected: str) -> None:
    folder = unpack(pack, tmp_path / "pack")
    edit(folder)  # type: ignore[operator]
    remanifest(folder)
    serial, parallel_run = run(folder, 1), run(folder, 4)
    assert serial == parallel_run and expected in serial[0], serial


@settings(max_examples=60, deadline=None)
@given(st.lists(st.from_regex(rb'\{("[a-z_]{0,12}change_id[a-z_]{0,3}"|"deploys"|"matches_change"|"x"):'
                              rb'(-?[0-9]{1,4}(\.[0-9])?|\[(-?[0-9]{1,3},?){0,3}\]|"[a-z\\",:\[\]]{0,8}")'
                              rb'(,"[a-z_]{1,9}":(-?[0-9]{1,3}|\[[0-9,]{0,5}\]))*\}', fullmatch=True),
                max_size=8))
def test_names_read_from_lines_are_those_of_their_payloads(payloads: list[bytes]) -> None:
    """``names_of`` reads a batch of log lines at once and says what ``changes_named`` says of each payload."""
    pairs = parallel.array("q")
    lines = [b'{"actor":"change_id","hash":"' + b"0" * 64 + b'","kind":"x.deploys","payload":' + raw
             + b',"prev_hash":"' + b"1" * 64 + b'","seq":%d,"ts":"2026-01-01T00:00:00.000000Z"}\n' % seq
             for seq, raw in enumerate(payloads, 1)]
    names_of(lines, 1, pairs)
    got = list(zip(pairs[1::2], pairs[::2], strict=True))
    assert sorted(got) == sorted((seq, cid) for seq, raw in enumerate(payloads, 1) for cid in changes_named(raw))
    assert [seq for seq, _ in got] == sorted(seq for seq, _ in got)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(",\"\r\n =-'aé\t", max_size=5),
                                   st.lists(st.integers(0, 9), max_size=3)), min_size=3, max_size=3), max_size=6),
       st.integers(1, 3))
def test_a_table_renders_as_csv_writer_writes_it(rows: list[list[object]], width: int) -> None:
    columns = [f"c{i}" for i in range(width)]
    dicts = [dict(zip(columns, r, strict=False)) for r in rows]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(cells(d, columns) for d in dicts)
    assert "".join(text for text, _ in csv_pieces(columns, dicts)) == out.getvalue()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 300), st.lists(st.integers(1, 120), max_size=4))
def test_a_tree_from_pieces_is_the_tree_of_its_leaves(start: int, cuts: list[int]) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(start + sum(cuts))]
    whole, pieced = TreeBuilder(), TreeBuilder()
    for leaf in leaves:
        whole.append(leaf)
    pieced.extend(leaves[:start])
    at = start
    for n in cuts:
        for level, h in perfect_subtrees(at, leaves[at:at + n]):
            pieced.add_perfect(level, h)
        at += n
    assert (pieced.size, pieced.root()) == (whole.size, whole.root())


KEY = Ed25519PrivateKey.from_private_bytes(b"\x15" * 32)


def busy_log(crs: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    """A plant's changes, each opened, approved, deployed, allowed and notified (as the bench's, smaller)."""
    out: list[tuple[str, str, str, dict[str, Any]]] = [
        ("2026-01-01T00:00:00.000000Z", "config.loaded", "gatekeeper",
         {"sha256": hashlib.sha256(b"").hexdigest(), "policy": ""})]
    for cid in range(1, crs + 1):
        ts = f"2026-02-{1 + cid % 28:02d}T10:00:{cid % 60:02d}.{cid:06d}Z"
        fp, sha = f"{cid:064x}", f"{cid:040x}"
        out += [
            (ts, "change.opened", "alice", {"change_id": cid, "repo": "plant-a", "target": "main", "revision": 1,
                                            "fingerprint": fp, "pusher": "alice", "title": f"Recipe {cid}",
                                            "ticket": f"CHG{cid}", "state": "pending", "categories": ["recipes"],
                                            "financial": cid % 3 == 0, "sod_findings": [],
                                            "approvals_required": [{"group": "leads", "count": 1}]}),
            (ts, "change.approved", "carol", {"change_id": cid, "revision": 1, "fingerprint": fp, "signer": "carol",
                                              "name": "Carol", "group": "leads", "decision": "approve",
                                              "meaning": "Reviewed", "comment": "ok", "state": "approved",
                                              "memberships": [{"group": "leads", "via": ["leads"]}]}),
            (ts, "notify.sent", "gatekeeper", {"change_id": cid, "event": "change.approved", "recipient": "alice"}),
            (ts, "change.deployed", "alice", {"change_id": cid, "repo": "plant-a", "ref": "refs/heads/main",
                                              "new": sha, "state": "deployed", "intent_id": cid}),
            (ts, "push.allowed", "alice", {"repo": "plant-a", "refs": [{"ref": "refs/heads/main", "new": sha,
                                                                      "allow": True, "deploys": [cid]}]}),
        ]
        if cid % 100 == 0:
            out.append((ts, "log.checkpoint", "gatekeeper", {}))
    return sorted(out, key=lambda e: e[0])


def test_the_bundled_verifier_checks_a_larger_log_on_every_core(tmp_path: Path) -> None:
    """verify.py itself (one file, ``python3 -I``) over a log past ``PARALLEL_MIN``: its workers are forked
    and answer from the very same file; a flipped byte in the middle still fails as one process says."""
    folder = tmp_path / "pack"
    write_pack(folder, busy_log(1100), KEY, start="2026-01-01T00:00:00.000000Z", end="2027-01-01T00:00:00.000000Z",
               now="2027-01-02T00:00:00.000000Z")
    assert (folder / "log.jsonl").stat().st_size > parallel.PARALLEL_MIN
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": "", "LANG": "C.UTF-8"}
    python = shutil.which("python3") or sys.executable
    kid = key_id(KEY.public_key())

    def bare() -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, "-I", "verify.py", "--key-id", kid], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=300)

    good = bare()
    assert good.returncode == 0 and "OK register.csv: 1100 rows" in good.stdout, good.stderr
    _flip_log(folder)
    remanifest(folder)
    bad = bare()
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"verify.py: FAILED: {run(folder, 1)[0]}"


def test_a_log_written_to_while_it_is_checked_fails(pack: Path, tmp_path: Path) -> None:
    """Something writing to log.jsonl during the pass (here: as the projection is made, and so that the bytes the
    pass reads stay good) is noticed, whether the log is read in parts or in one process."""
    folder = unpack(pack, tmp_path / "pack")
    with open_file(str(folder), "log.jsonl") as fh:
        size = fh.seek(0, 2)
        params = Params.from_export(checks._tail(fh, size)["payload"])

    def make() -> Projection:
        st = (folder / "log.jsonl").stat()
        os.utime(folder / "log.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
        return Projection(params, names=False)

    for jobs in (1, 3):
        with open_file(str(folder), "log.jsonl") as fh, \
                pytest.raises(Failed, match=r"log\.jsonl changed while it was being verified"):
            parallel.log_pass(fh, size, make, params.upto, jobs=jobs, parallel_min=0)


def test_a_worker_that_dies_midway_leaves_the_answer_to_one_pass(pack: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The second part's worker sends a batch, then dies: whatever the projection was fed already, the pass
    starts again in one process on a fresh projection, and the answer is that pass's."""
    folder = unpack(pack, tmp_path / "pack")
    real = parallel._part

    def dying(*args: Any) -> None:
        send = args[-1]
        if args[-2]:                     # the first part: as ever
            real(*args)
            return
        real(*args[:-1], lambda tag, data: send(tag, data) if tag == parallel.ENTRIES else os._exit(3))

    monkeypatch.setattr(parallel, "_part", dying)
    with open_file(str(folder), "log.jsonl") as fh:
        size = fh.seek(0, 2)
        params = Params.from_export(checks._tail(fh, size)["payload"])
        made: list[Projection] = []

        def make() -> Projection:
            made.append(Projection(params, names=False))
            return made[-1]

        lp, projection = parallel.log_pass(fh, size, make, params.upto, jobs=2, parallel_min=0)
        one, alone = parallel.log_pass(fh, size, lambda: Projection(params, names=False), params.upto, jobs=1)
    assert (lp.parts, len(made), projection is made[1]) == (1, 2, True)
    assert (lp.size, lp.tree.root(), lp.sha256) == (one.size, one.tree.root(), one.sha256)
    assert [cells(r, REGISTER_COLUMNS) for r in projection.finish().register()] == \
        [cells(r, REGISTER_COLUMNS) for r in alone.finish().register()]


def test_a_projection_that_names_changes_itself_is_refused(pack: Path, tmp_path: Path) -> None:
    """The pass gives the projection the changes entries name: one that found them itself too would count
    each log seq twice in the register, so it is refused outright, either way the log is read."""
    folder = unpack(pack, tmp_path / "pack")
    with open_file(str(folder), "log.jsonl") as fh:
        size = fh.seek(0, 2)
        params = Params.from_export(checks._tail(fh, size)["payload"])
        for jobs in (1, 2):
            with pytest.raises(ValueError, match="names=False"):
                parallel.log_pass(fh, size, lambda: Projection(params), params.upto, jobs=jobs, parallel_min=0)
