"""The floor under verify.py's speed (issue 21): the work a standard-library verifier cannot skip, each piece
timed on its own over a pack, in CPU seconds of one process, and what that allows on this machine's cores.

    .venv/bin/python bench/verify_floor.py [PACK_FOLDER] [--entries 200000] [--repeat 3]

Without a folder it makes a pack of ``--entries`` entries (``evidence_bench.make_pack``; the figures in
docs/benchmarks.md are of the 1,000,000-entry pack). Each piece is the bare operation, with nothing
checked around it, and is the best of ``--repeat`` runs (the least the machine gave it):

- ``lines``: the log read and cut into lines (``os.pread``, ``bytes.split``);
- ``chain``: a Python loop over the lines doing the least a chain check does with each: find its hash
  member, SHA-256 the bytes the hash covers, compare the hex with the member and the link with the
  line before (hashlib has no call that hashes many messages at once, so a loop it is);
- ``tree``: the RFC 6962 tree over the entry hashes (a leaf hash each, a node hash each);
- ``names``: the three byte scans every payload needs for the changes it names (``change_id``,
  ``"deploys"``, ``matches_change``: a register row's ``log_seqs``);
- ``json``: the C JSON scanner over the payloads of the kinds the tables are made of;
- ``handlers``: those entries handed to the projection (``Projection.add``, as verify.py has it; timed with
  their parsing, as each is parsed when it comes, less ``json``);
- ``tables``: ``Projection.finish``, and register.csv and approvals.csv rendered and hashed;
- ``file hash``: the SHA-256 of log.jsonl (the manifest lists it).

Passing entries between processes (what using a second core costs) is not counted: the sum is a floor
for one process, and the sum over the cores a floor for the wall time however well the work is shared.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sys
import time
from binascii import hexlify
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from gatekeeper.ledger.merkle import TreeBuilder, perfect_subtrees  # noqa: E402
from gatekeeper.verifier import tables as T  # noqa: E402
from gatekeeper.verifier.chain import BLOCK  # noqa: E402
from gatekeeper.verifier.checks import _export_entry  # noqa: E402
from gatekeeper.verifier.files import rendered_sha256  # noqa: E402
from gatekeeper.verifier.logread import HASH_KEY, LOG_DOMAIN, PAYLOAD_KEY, PREV_KEY  # noqa: E402
from gatekeeper.verifier.packdir import list_pack  # noqa: E402
from gatekeeper.verifier.projection import Projection  # noqa: E402

CHUNK = 1 << 20


def read_lines(path: Path) -> list[list[bytes]]:
    """The log's lines (without their newlines), a chunk's at a time."""
    out: list[list[bytes]] = []
    rest = b""
    fd = os.open(path, os.O_RDONLY)
    try:
        at, size = 0, os.fstat(fd).st_size
        while at < size:
            data = os.pread(fd, CHUNK, at)
            at += len(data)
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            out.append(lines)
    finally:
        os.close(fd)
    return out


def chain(batches: list[list[bytes]]) -> list[bytes]:
    """The least per line: the hash recomputed over the bytes it covers, compared, the link compared."""
    copy, prev, raws = hashlib.sha256(LOG_DOMAIN).copy, b"0" * 64, []
    for lines in batches:
        for line in lines:
            h = line.find(HASH_KEY)
            c = copy()
            c.update(line[:h])
            c.update(line[h + 74:])
            raw = c.digest()
            digest = hexlify(raw)
            if not line.startswith(digest, h + 9) or not line.startswith(prev, line.rfind(PREV_KEY) + 14):
                raise SystemExit("verify_floor: the pack's log does not verify")
            raws.append(raw)
            prev = digest
    return raws


def tree(raws: list[bytes]) -> bytes:
    """The RFC 6962 root, a block of leaves at a time as verify.py builds it (``ledger.merkle``)."""
    sha, built = hashlib.sha256, TreeBuilder()
    for at in range(0, len(raws), BLOCK):
        for level, h in perfect_subtrees(at, [sha(b"\x00" + r).digest() for r in raws[at:at + BLOCK]]):
            built.add_perfect(level, h)
    return built.root()


def names(batches: list[list[bytes]]) -> int:
    found = 0
    for lines in batches:
        blob = b"\n".join(lines)
        found += blob.count(b"change_id") + blob.count(b'"deploys"') + blob.count(b"matches_change")
    return found


def wanted(batches: list[list[bytes]], kinds: set[bytes]) -> list[tuple[int, str, str, str, str]]:
    """(seq, ts, kind, actor, payload text) of the entries the tables are made of (not timed)."""
    out, seq = [], 0
    for lines in batches:
        for line in lines:
            seq += 1
            k = line.find(b'"kind":"') + 8
            kind = line[k:line.find(b'"', k)]
            if kind in kinds:
                start = line.find(PAYLOAD_KEY) + len(PAYLOAD_KEY)
                actor = json.loads(line[9:line.find(HASH_KEY)])
                out.append((seq, line[-29:-2].decode(), kind.decode(), actor,
                            line[start:line.rfind(PREV_KEY)].decode()))
    return out


def bench(folder: Path, repeat: int) -> None:
    files = list_pack(str(folder))
    _tail, params = _export_entry(str(folder), files)
    log = folder / "log.jsonl"
    gc.disable()   # as verify.py runs
    best: dict[str, float] = {}

    def timed(label: str, work: Callable[[], Any]) -> Any:
        for _ in range(repeat):
            start = time.process_time()
            result = work()
            best[label] = min(best.get(label, 1e9), time.process_time() - start)
        return result

    batches = timed("lines", lambda: read_lines(log))
    n = sum(map(len, batches))
    raws = timed("chain", lambda: chain(batches))
    timed("tree", lambda: tree(raws))
    timed("names", lambda: names(batches))
    projection = Projection(params, names=False)
    entries = wanted(batches, {k.encode() for k in projection.kinds})
    scan = vars(json.JSONDecoder())["scan_once"]

    def parse() -> None:
        for entry in entries:
            scan(entry[4], 0)
    timed("json", parse)

    def handlers() -> Projection:
        pr = Projection(params, names=False)
        add = pr.add
        for seq, ts, kind, actor, text in entries:
            add(seq, ts, kind, actor, scan(text, 0)[0], None)
        return pr
    projection = timed("handlers", handlers)
    best["handlers"] -= best["json"]   # timed with the payloads' parsing, as they come

    def tables() -> None:
        t = projection.finish()
        rendered_sha256(T.REGISTER_COLUMNS, projection.register_values(), True)
        rendered_sha256(T.APPROVAL_COLUMNS, t.approvals_values(), True)
    timed("tables", tables)
    timed("file hash", lambda: hashlib.file_digest(log.open("rb"), "sha256"))
    total = sum(best.values())
    cores = os.cpu_count() or 1
    print(f"the floor under verify.py over {n:,} entries ({len(entries):,} read into the tables, "
          f"{len(projection.changes):,} change requests), CPU seconds of one process, best of {repeat}:")
    for label, cpu in best.items():
        print(f"  {label:10s} {cpu:6.2f} s  {cpu * 1e6 / n:5.2f} us an entry")
    print(f"  {'in all':10s} {total:6.2f} s  {total * 1e6 / n:5.2f} us an entry: on {cores} core(s) at best "
          f"{total / cores:.2f} s, {n * cores / total:,.0f} entries/s (target 200,000)")


def main() -> None:
    from evidence_bench import pack_cli

    pack_cli(__doc__ or "", bench, 3)


if __name__ == "__main__":
    main()
