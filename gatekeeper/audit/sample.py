"""``gatekeeper audit sample``: a reproducible random sample of changes with their full trail.

An auditor testing operating effectiveness picks, say, 25 changes of the period and follows each
from request to deployment. The population is the register's (same period rule), sorted by
change_id; the sample is ``random.Random(seed).sample`` of it, so the same seed over the same
population always gives the same changes, and the seed goes into the working papers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import IO, Any

from sqlmodel import Session, col, select

from gatekeeper.actions.context import Services
from gatekeeper.actions.views import change_json
from gatekeeper.audit.register import in_period
from gatekeeper.ledger.entry import Entry
from gatekeeper.ledger.events import PUSH_ALLOWED, PUSH_REFUSED, PushAllowed, PushRefused
from gatekeeper.policy.reasons import messages
from gatekeeper.store import log
from gatekeeper.store.tables import ChangeRequest


def population(session: Session, start: str, end: str) -> list[int]:
    return list(session.exec(select(ChangeRequest.id).where(in_period(start, end))
                             .order_by(col(ChangeRequest.id))).all())  # type: ignore[arg-type]


def pick(ids: Sequence[int], size: int, seed: str) -> list[int]:
    """``size`` ids (all of them when fewer), chosen by ``seed``, in change_id order."""
    ordered = sorted(ids)
    return sorted(random.Random(seed).sample(ordered, min(size, len(ordered))))


GATE_KINDS = (PUSH_ALLOWED, PUSH_REFUSED)


def _push(e: Entry) -> PushAllowed | PushRefused:
    return (PushAllowed if e.kind == PUSH_ALLOWED else PushRefused).from_payload(e.payload)


def trail(services: Services, session: Session, change_id: int) -> dict[str, Any]:
    """From request to deployment: revisions, diff summary, signatures, gate decisions, log entries."""
    cr = change_json(services, change_id, session)
    entries = list(log.of_kinds(session, None, change_id=change_id))
    trail_log = [{"seq": e.seq, "ts": e.ts, "kind": e.kind, "actor": e.actor, "hash": e.hash} for e in entries]
    decisions = {e.seq: e for e in entries if e.kind in GATE_KINDS}
    if cr["deployed_commit"]:
        # An emergency push deploys no approved CR, so its gate decision names only the commit.
        for e in log.of_kinds(session, GATE_KINDS, like=f"%{cr['deployed_commit']}%"):
            if any(r.new == cr["deployed_commit"] for r in _push(e).refs):
                decisions.setdefault(e.seq, e)
    gate = []
    for seq in sorted(decisions):
        e = decisions[seq]
        p = _push(e)
        refs = [r for r in p.refs if change_id in r.deploys or r.new == cr["deployed_commit"]] or list(p.refs)
        gate.append({"seq": e.seq, "ts": e.ts, "decision": e.kind, "pusher": e.actor, "emergency": p.emergency,
                     "refs": [{"ref": r.ref, "old": r.old, "new": r.new, "reasons": list(messages(r.reasons)),
                               "codes": [x.code for x in r.reasons]} for r in refs]})
    diff = {d["path"]: len(d.get("changes") or []) for d in cr.get("semantic_diff", [])}
    keep = ("url", "title", "repo", "target", "state", "categories", "financial", "ticket", "requested_by",
            "requested_at", "approvals_required", "sod_findings", "approved_at", "deployed_at", "deployed_by",
            "deployed_commit", "emergency", "emergency_reason", "emergency_deadline", "retro_approved_at")
    signature = ("username", "group", "decision", "meaning", "comment", "signed_at", "revision", "counts",
                 "log_seq")
    return {
        "change_id": change_id, **{k: cr[k] for k in keep},
        "revisions": [{"number": r["number"], "pushed_by": r["pushed_by"], "pushed_at": r["pushed_at"],
                       "fingerprint": r["fingerprint"],
                       "commits": [{"sha": c["sha"], "subject": c.get("subject"),
                                    "author": c.get("author_email")} for c in r["commits"]]}
                      for r in cr["revisions"]],
        "files": [{"path": f["path"], "status": f["status"], "categories": f["categories"],
                   "semantic_changes": diff.get(f["path"], 0)} for f in cr["files"]],
        "findings": len(cr.get("findings", [])),
        "signatures": [{k: a[k] for k in signature} for a in cr["approvals"]],
        "gate": gate, "log": trail_log,
    }


def sample(services: Services, start: str, end: str, size: int, seed: str) -> dict[str, Any]:
    with services.store.read() as session:
        ids = population(session, start, end)
        chosen = pick(ids, size, seed)
        return {"from": start, "to": end, "seed": seed, "size": size, "population": len(ids),
                "change_ids": chosen, "changes": [trail(services, session, cid) for cid in chosen]}


def write_text(out: IO[str], result: dict[str, Any]) -> None:
    """The sample as Markdown, one section per change, for the working papers."""
    w = out.write
    w(f"# Sample of changes {result['from']} .. {result['to']}\n\n")
    w(f"Population: {result['population']} change requests (register rule, change_id order). "
      f"Seed: `{result['seed']}`. Size asked: {result['size']}. Picked: "
      f"{', '.join(str(i) for i in result['change_ids']) or 'none'}.\n\n")
    w("Re-draw with: `gatekeeper audit sample --from ... --to ... "
      f"--size {result['size']} --seed {result['seed']}`\n")
    for t in result["changes"]:
        w(f"\n## Change request {t['change_id']}: {t['title']}\n\n")
        w(f"- {t['repo']} → {t['target']}; state **{t['state']}**; categories {', '.join(t['categories'])}"
          f"{'; financial' if t['financial'] else ''}{'; ticket ' + t['ticket'] if t['ticket'] else ''}\n")
        w(f"- Requested by {t['requested_by']} at {t['requested_at']} ({t['url']})\n")
        for r in t["revisions"]:
            commits = ", ".join(f"{c['sha'][:12]} {c['subject']}" for c in r["commits"])
            w(f"- Revision {r['number']}: pushed by {r['pushed_by']} at {r['pushed_at']}, fingerprint "
              f"{r['fingerprint'][:16]}…; commits: {commits or 'none'}\n")
        for f in t["files"]:
            w(f"  - {f['status']} `{f['path']}` ({', '.join(f['categories'])}): "
              f"{f['semantic_changes']} semantic change(s)\n")
        rules = ", ".join(f"{r['count']}× {r['group']}" for r in t["approvals_required"]) or "none"
        w(f"- Approvals required: {rules}; validation findings: {t['findings']}\n")
        for a in t["signatures"]:
            counts = "" if a["counts"] else " (does not count now)"
            w(f"- Signature: {a['username']} ({a['group']}) {a['decision']} \"{a['meaning']}\" "
              f"at {a['signed_at']} on revision {a['revision']}{counts}"
              f"{': ' + a['comment'] if a['comment'] else ''} (log seq {a['log_seq']})\n")
        for finding in t["sod_findings"]:
            w(f"- SoD finding: {finding}\n")
        for g in t["gate"]:
            refs = "; ".join(f"{r['ref']} {str(r['old'])[:12]}→{str(r['new'])[:12]}" for r in g["refs"])
            why = f" (emergency: {g['emergency']})" if g["emergency"] is not None else ""
            w(f"- Gate: {g['decision']}{why} at {g['ts']} for {g['pusher']}: {refs} (log seq {g['seq']})\n")
        if t["emergency"]:
            w(f"- Emergency: {t['emergency_reason']}; retrospective approval due {t['emergency_deadline']}, "
              f"given {t['retro_approved_at'] or 'not yet'}\n")
        if t["deployed_at"]:
            w(f"- Deployed at {t['deployed_at']} by {t['deployed_by']}, commit {t['deployed_commit']}\n")
        else:
            w("- Not deployed\n")
        w("- Log: " + "; ".join(f"{e['seq']} {e['kind']} {e['ts']} {e['actor']}" for e in t["log"]) + "\n")
