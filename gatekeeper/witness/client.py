"""The log's side of the witness protocol (SPEC §12): submit a checkpoint to every configured witness.

For each ``[[ledger.witnesses]]``: send ``old <size>`` (the largest checkpoint that witness has
cosigned, from our records), the consistency proof from there and the signed note; a 409 names the
size the witness really holds, and the request is made once more from that size. A cosignature is
kept only if it verifies with the witness's configured key; it is stored (``witness_cosignature``)
and added to the checkpoint. Anything else is a refusal: logged as ``witness.refused`` (shown to
admins on /audit) and returned, never an error for the caller, since a witness being down must
not stop the log.

``gatekeeper log checkpoint`` and every pack export submit their checkpoint at once. The automatic
checkpoints (``service.checkpoint_every``) are signed inside a business write, where no network
call belongs: the service's scheduler (``run_due``) submits the newest one to each witness that has
neither cosigned nor been asked for it, once.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from gatekeeper import outbound
from gatekeeper.checkpoints.sign import latest_checkpoint
from gatekeeper.ledger import events
from gatekeeper.ledger.checkpoint import Checkpoint, ed25519_verify
from gatekeeper.ledger.note import parse_signature_line, parse_vkey, split_note, verify_signatures
from gatekeeper.store import log, tree
from gatekeeper.store.claim import claim
from gatekeeper.store.tables import Setting, WitnessCosignature

NEXT_RUN = "witness.next_run_at"      # the scheduler's claim (store.claim)
ASKED = "witness.asked."              # + the witness's name: the checkpoint size the scheduler last sent it
INTERVAL = timedelta(minutes=1)


def cosign(config: Any, store: Any, cp: Checkpoint, witnesses: Sequence[Any] | None = None
           ) -> tuple[Checkpoint, list[str]]:
    """``cp`` with the cosignatures of the configured witnesses (or of ``witnesses``), and one line per
    refusal."""
    witnesses = config.ledger.witnesses if witnesses is None else witnesses
    if not witnesses or not cp.note:
        return cp, []
    lines, refusals = list(cp.cosignatures), []
    for w in witnesses:
        try:
            line = _submit(config, store, w, cp)
        except Refused as exc:
            refusals.append(f"{w.name}: {exc.reason}")
            _log_refusal(store, w, cp, exc)
            continue
        lines.append(line)
        _store(store, w.name, cp.seq, line)
    return Checkpoint(**{**cp.to_dict(), "cosignatures": tuple(dict.fromkeys(lines))}), refusals


class Refused(Exception):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def _submit(config: Any, store: Any, w: Any, cp: Checkpoint) -> str:
    old = _cosigned_size(store, w.name)
    for _attempt in range(2):
        if old > cp.seq:
            raise Refused(f"the witness already cosigned a larger tree ({old} entries) than this checkpoint "
                          f"({cp.seq}); it never cosigns an older one")
        with store.read() as session:
            _size, proof = tree.consistency_proof(session.connection(), old, cp.seq)
        body = f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + cp.note
        try:
            resp = outbound.post(f"{w.url}/add-checkpoint", data=body.encode("utf-8"),
                                 headers={"Content-Type": "text/plain; charset=utf-8"},
                                 timeout=config.ledger.witness_timeout)
        except requests.RequestException as exc:
            raise Refused(f"unreachable ({type(exc).__name__})") from exc
        if resp.status_code == 409 and resp.headers.get("Content-Type", "").startswith("text/x.tlog.size"):
            text = resp.text.strip()
            if text.isdecimal() and int(text) != old:
                old = int(text)
                continue
        if resp.status_code != 200:
            raise Refused(f"HTTP {resp.status_code}: {resp.text.strip()[:300]}", resp.status_code)
        return _verified(w, cp, resp.text)
    raise Refused("the witness's size kept changing", 409)


def _verified(w: Any, cp: Checkpoint, text: str) -> str:
    """The one cosignature line of ``w`` in the response that verifies with its configured key."""
    key = parse_vkey(w.key)
    body = split_note(cp.note)[0]
    for line in text.splitlines(keepends=True):
        try:
            sig = parse_signature_line(line if line.endswith("\n") else line + "\n")
            if verify_signatures(body, [sig], [key], ed25519_verify):
                return sig.line
        except ValueError as exc:
            raise Refused(f"its answer holds a cosignature that does not verify with its key ({exc})") from exc
    raise Refused("its answer holds no cosignature by its configured key")


def _cosigned_size(store: Any, name: str) -> int:
    with store.read() as session:
        size = session.execute(select(func.max(col(WitnessCosignature.size))).where(
            col(WitnessCosignature.witness) == name)).scalar()
    return int(size or 0)


def _store(store: Any, name: str, size: int, line: str) -> None:
    try:
        with store.write() as session:
            session.add(WitnessCosignature(size=size, witness=name, line=line, received_at=log.utc_now()))
    except IntegrityError:
        pass  # this witness's cosignature of this size is stored already (a repeated submission)


def _log_refusal(store: Any, w: Any, cp: Checkpoint, exc: Refused) -> None:
    event = events.WitnessRefused(witness=w.name, url=w.url, size=cp.seq, status=exc.status, reason=exc.reason)
    with store.write() as session:
        log.append(session, event)


def cosignatures(session: Any, size: int) -> list[str]:
    """The stored cosignature lines of the checkpoint of ``size`` entries."""
    return [row[0] for row in session.execute(select(col(WitnessCosignature.line)).where(
        col(WitnessCosignature.size) == size).order_by(col(WitnessCosignature.witness)))]


def run_due(services: Any, now: datetime | None = None) -> bool:
    """The scheduler's job (once across workers): the newest checkpoint to every witness that has not
    cosigned it and was not asked for it yet. True when it asked any."""
    witnesses = services.config.ledger.witnesses
    now = now or services.clock()
    if not witnesses or not claim(services.store, NEXT_RUN, now + INTERVAL, now):
        return False
    with services.store.write() as session:  # recorded before asking: a crash costs one request, never a loop
        cp = latest_checkpoint(session)
        if cp is None or not cp.note:
            return False
        done = {line.split(" ")[1] for line in cosignatures(session, cp.seq)}
        pending = []
        for w in witnesses:
            asked = session.get(Setting, ASKED + w.name)
            if w.name in done or (asked is not None and asked.value == str(cp.seq)):
                continue
            pending.append(w)
            if asked is None:
                session.add(Setting(key=ASKED + w.name, value=str(cp.seq)))
            else:
                asked.value = str(cp.seq)
    if pending:
        cosign(services.config, services.store, cp, pending)
    return bool(pending)
