"""Changes since your last review (``actions.since``): the revision a person last signed or saw, and the
semantic diff from it to the current revision, made from the contents kept with each topic push."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from gatekeeper.actions import push, since
from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import SignRequest
from gatekeeper.actions.signing import sign
from gatekeeper.store import changes as q
from gatekeeper.store import reviewing
from gatekeeper.store.tables import ChangeRequest
from tests.actions.test_push import MAIN_OLD, NULL, req

REF = "refs/heads/raise"


def blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def revise(services: Services, files: dict[str, bytes], head: str, binary: tuple[str, ...] = ()) -> int:
    """A topic push whose files are added against main, with the contents the hook sends."""
    changes: list[dict[str, Any]] = [
        {"path": p, "status": "added", "old_blob": NULL, "new_blob": blob(d), "old_mode": "000000",
         "new_mode": "100644", "binary": p in binary,
         **({} if p in binary else {"new_content": base64.b64encode(d).decode()})} for p, d in files.items()]
    body = {"ref": REF, "old": NULL, "new": head, "target": "main", "base": MAIN_OLD, "changes": changes}
    out = push.record_push(services, req([body]))
    opened = next(m for m in out["messages"] if "change request" in m)
    return int(opened.split("change request ")[1].split(" ")[0])


def cr_of(services: Services, cid: int) -> ChangeRequest:
    with services.store.read() as s:
        cr = q.get(s, cid)
    assert cr is not None
    return cr


def diff_between(services: Services, cid: int, revision: int) -> since.Since | None:
    with services.store.read() as s:
        return since.since(services, s, cr_of(services, cid), revision, since.CHOSEN)


def texts(found: since.Since | None) -> dict[str, list[str]]:
    assert found is not None
    return {d["path"]: [c["text"] for c in d["changes"]] for d in found.diff}


def test_the_baseline_is_the_latest_earlier_revision_signed_or_seen(services: Services) -> None:
    cid = revise(services, {"cfg/a.txt": b"speed = 240\n"}, "1" * 40)
    with services.store.read() as s:
        assert since.baseline(s, cr_of(services, cid), "carol") is None   # never seen: nothing to compare with
    reviewing.mark_seen(services.store, "carol", cid, 1, "2027-01-01T10:00:00Z")
    with services.store.read() as s:
        assert since.baseline(s, cr_of(services, cid), "carol") is None   # saw the current revision
    assert revise(services, {"cfg/a.txt": b"speed = 250\n"}, "2" * 40) == cid
    gina = services.directory.get_user("gina")
    assert gina is not None
    sign(services, cid, gina, SignRequest(decision="approve", meaning="Reviewed and approved"))
    reviewing.mark_seen(services.store, "gina", cid, 1, "2027-01-01T10:00:00Z")
    assert revise(services, {"cfg/a.txt": b"speed = 260\n"}, "3" * 40) == cid
    with services.store.read() as s:
        cr = cr_of(services, cid)
        assert since.baseline(s, cr, "carol") == (1, since.SEEN)
        assert since.baseline(s, cr, "gina") == (2, since.SIGNED)   # signed 2 is later than seen 1
        assert since.baseline(s, cr, "alice") is None


def test_the_diff_between_two_revisions_per_file(services: Services) -> None:
    cid = revise(services, {"cfg/a.txt": b"speed = 240\nmode = auto\n", "cfg/b.txt": b"b\n"}, "1" * 40)
    assert revise(services, {"cfg/a.txt": b"speed = 250\nmode = auto\n", "cfg/c.txt": b"c\n"}, "2" * 40) == cid
    found = diff_between(services, cid, 1)
    assert found is not None and (found.revision, found.current, found.why, found.same_content) == (1, 2, "chosen",
                                                                                                  False)
    assert [d["path"] for d in found.diff] == ["cfg/a.txt", "cfg/b.txt", "cfg/c.txt"]
    assert texts(found) == {"cfg/a.txt": ["modified: +1 −1 lines"],
                            "cfg/b.txt": ["deleted: +0 −1 lines"],   # revision 2 dropped it: main's (no) file
                            "cfg/c.txt": ["added: +1 −0 lines"]}
    assert "-speed = 240\n+speed = 250\n mode = auto" in found.diff[0]["changes"][0]["diff"]  # one edit since 1
    assert diff_between(services, cid, 2) is None and diff_between(services, cid, 7) is None


def test_a_rebase_has_nothing_new_to_review(services: Services) -> None:
    cid = revise(services, {"cfg/a.txt": b"speed = 240\n"}, "1" * 40)
    assert revise(services, {"cfg/a.txt": b"speed = 240\n"}, "2" * 40) == cid   # same content, new head
    assert diff_between(services, cid, 1) == since.Since(1, 2, since.CHOSEN, True)


def test_a_binary_file_is_named_and_a_content_not_kept_is_named_by_its_blob_ids(services: Services) -> None:
    firmware1, firmware2, image1, image2 = b"\x00\x01fw1", b"\x00\x01fw2", b"\x89PNG\x00one", b"\x89PNG\x00two"
    cid = revise(services, {"bin/fw.dat": firmware1, "bin/logo.png": image1}, "1" * 40, binary=("bin/logo.png",))
    assert revise(services, {"bin/fw.dat": firmware2, "bin/logo.png": image2}, "2" * 40,
                  binary=("bin/logo.png",)) == cid
    got = texts(diff_between(services, cid, 1))
    assert got["bin/fw.dat"] == ["binary file modified"]   # kept, but NUL bytes: no line diff of a firmware
    [not_kept] = got["bin/logo.png"]                         # the hook sent no content of a binary file
    assert f"content {blob(image1)[:12]} → {blob(image2)[:12]}" in not_kept and "not kept" in not_kept
