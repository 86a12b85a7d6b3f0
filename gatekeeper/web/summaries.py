"""One plain sentence, in the reader's language, for every log kind (``/log``, the change page's timeline).

``SUMMARIES`` maps each event class of ``ledger.events.KINDS`` to its sentence; a test walks the
registry, so a new kind without a sentence fails. People appear by their directory name (``who``);
values from the record (refs, hashes, reasons, meanings) stay as logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext

from gatekeeper.ledger import events as ev

Who = Callable[[str], str]   # username -> the name people read


def _(msgid: str, **values: Any) -> str:
    return str(gettext(msgid, **values))


def _revision(e: ev.ChangeOpened | ev.ChangeRevised, actor: str, who: Who) -> str:
    kept = {None: "", True: _("; approvals kept"), False: _("; approvals reset")}[e.approvals_kept]
    text = _("revision %(n)s pushed by %(name)s from %(topic)s (fingerprint %(fp)s), state %(state)s",
             n=e.revision, name=who(e.pusher or actor), topic=e.topic_ref, fp=e.fingerprint[:12], state=e.state)
    if e.title_was is not None:
        text += _("; title was “%(old)s”, now “%(new)s”", old=e.title_was, new=e.title)
    return text + kept


def _signature(e: ev.ChangeApproved | ev.ChangeRejected, actor: str, who: Who) -> str:
    signer = e.signer or actor
    values: dict[str, Any] = {"name": e.name or who(signer), "n": e.revision, "group": e.group or "—",
                              "meaning": e.meaning, "state": e.state}
    if isinstance(e, ev.ChangeApproved):
        text = _("%(name)s approved revision %(n)s as %(group)s: “%(meaning)s”; state %(state)s", **values)
    else:
        text = _("%(name)s rejected revision %(n)s as %(group)s: “%(meaning)s”; state %(state)s", **values)
    return text + (f" — {e.comment}" if e.comment else "")


def _sign_refused(e: ev.SignRefused, actor: str, who: Who) -> str:
    why = "; ".join(r.message for r in e.reasons) or "—"
    return _("signature (%(decision)s) by %(name)s refused: %(why)s", decision=e.decision,
             name=who(e.signer or actor), why=why)


def _commented(e: ev.ChangeCommented, actor: str, who: Who) -> str:
    if e.path:
        return _("%(name)s commented on %(path)s: %(text)s", name=e.name or who(e.commenter or actor), path=e.path,
                 text=_short(e.comment))
    return _("%(name)s commented: %(text)s", name=e.name or who(e.commenter or actor), text=_short(e.comment))


def _deployed(e: ev.ChangeDeployed, actor: str, who: Who) -> str:
    if e.change_id:
        return _("change request %(id)s deployed to %(ref)s at %(commit)s by %(name)s", id=e.change_id, ref=e.ref,
                 commit=e.new[:12], name=who(actor))
    return _("update without a change request deployed to %(ref)s at %(commit)s by %(name)s", ref=e.ref,
             commit=e.new[:12], name=who(actor))


def _push(e: ev.PushAllowed | ev.PushRefused, actor: str, who: Who) -> str:
    refs = ", ".join(r.ref or "?" for r in e.refs) or e.repo
    if isinstance(e, ev.PushAllowed):
        return _("push by %(name)s to %(refs)s allowed", name=who(actor), refs=refs)
    reasons = [r.message for ref in e.refs for r in ref.reasons[:1] if not ref.allow]
    text = _("push by %(name)s to %(refs)s refused", name=who(actor), refs=refs)
    return text + (f": {reasons[0]}" if reasons else "")


def _intent(e: ev.DeployIntent, actor: str, who: Who) -> str:
    what = ", ".join(_("change request %(id)s (revision %(n)s)", id=c.change_id, n=c.revision) for c in e.changes)
    return _("gate allowed %(ref)s %(old)s → %(new)s by %(name)s: %(what)s; deploy intent %(intent)s", ref=e.ref,
             old=e.old[:12], new=e.new[:12], name=who(actor), what=what or e.action, intent=e.intent_id)


def _drift(e: ev.DriftChecked | ev.DriftDetected | ev.DriftCleared | ev.DriftError, actor: str, who: Who) -> str:
    where = {"source": e.source, "repo": e.repo, "path": e.path}
    if isinstance(e, ev.DriftChecked):
        return _("drift check of %(source)s (%(repo)s:%(path)s): %(result)s — %(summary)s", result=e.result,
                 summary=e.summary, **where)
    if isinstance(e, ev.DriftDetected):
        return _("drift detected in %(source)s (%(repo)s:%(path)s): %(summary)s", summary=e.summary, **where)
    if isinstance(e, ev.DriftCleared):
        return _("%(source)s (%(repo)s:%(path)s) back in line (was %(was)s)", was=e.was, **where)
    return _("drift check of %(source)s (%(repo)s:%(path)s) failed: %(error)s", error=e.error, **where)


def _delivery(e: ev.NotifySent | ev.NotifyFailed, actor: str, who: Who) -> str:
    values = {"event": e.event, "channel": e.channel, "to": e.recipient, "n": e.attempts}
    if isinstance(e, ev.NotifySent):
        return _("notification %(event)s sent by %(channel)s to %(to)s (attempt %(n)s)", **values)
    return _("notification %(event)s by %(channel)s to %(to)s failed after %(n)s attempts: %(error)s",
             error=e.error, **values)


def _witness_refused(e: ev.WitnessRefused, actor: str, who: Who) -> str:
    why = e.reason or (f"HTTP {e.status}" if e.status is not None else _("the witness could not be reached"))
    return _("witness %(witness)s did not cosign the checkpoint of %(size)s entries: %(reason)s", witness=e.witness,
             size=e.size, reason=why)


def _refs_updated(e: ev.RefUpdated, actor: str, who: Who) -> str:
    refs = ", ".join(f"{r.ref} {r.old[:12]}..{r.new[:12]} ({r.rule})" for r in e.refs) or "—"
    return _("refs updated by %(name)s: %(refs)s", name=who(e.pusher or actor) if (e.pusher or actor) else "—",
             refs=refs)


def _state_rejected(e: ev.HookStateRejected, actor: str, who: Who) -> str:
    why = "; ".join(r.message for r in e.reasons) or "—"
    return _("hook state %(file)s set aside, not trusted: %(why)s", file=e.file or "—", why=why)


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


SUMMARIES: dict[type[ev.Event], Callable[[Any, str, Who], str]] = {
    ev.ChangeOpened: _revision,
    ev.ChangeRevised: _revision,
    ev.ChangeApproved: _signature,
    ev.ChangeRejected: _signature,
    ev.SignRefused: _sign_refused,
    ev.ChangeWithdrawn: lambda e, actor, who: _("withdrawn by %(name)s: %(reason)s", name=who(actor),
                                                reason=e.reason),
    ev.ChangeCommented: _commented,
    ev.DeployIntent: _intent,
    ev.DeployVoided: lambda e, actor, who: _("deploy intent %(intent)s voided (%(by)s): %(reason)s",
                                             intent=e.intent_id, by=e.settled_by, reason=e.reason),
    ev.DeployUnproven: lambda e, actor, who: _("deploy intent %(intent)s unproven (%(by)s): %(reason)s",
                                               intent=e.intent_id, by=e.settled_by, reason=e.reason),
    ev.RefUpdated: _refs_updated,
    ev.HookStateRejected: _state_rejected,
    ev.ChangeDeployed: _deployed,
    ev.EmergencyDeployed: lambda e, actor, who: _(
        "EMERGENCY deployment to %(ref)s by %(name)s: %(reason)s; retrospective approval due by %(deadline)s",
        ref=e.ref, name=who(actor), reason=e.reason, deadline=e.deadline or "—"),
    ev.PushAllowed: _push,
    ev.PushRefused: _push,
    ev.ConfigLoaded: lambda e, actor, who: _("policy loaded: %(path)s (sha256 %(sha)s)", path=e.path,
                                             sha=e.sha256[:12]),
    ev.HooksAttested: lambda e, actor, who: _(
        "hooks installed and attested in %(repo)s (%(n)s files, layout %(layout)s, sha256 %(sha)s)", repo=e.repo,
        n=len(e.files), layout=e.layout, sha=e.sha256[:12]),
    ev.LogCheckpoint: lambda e, actor, who: _("signed checkpoint of seq %(seq)s (key %(key)s)", seq=e.seq,
                                              key=e.key_id),
    ev.KeyCreated: lambda e, actor, who: (
        _("checkpoint signing key %(key)s (%(alg)s) created", key=e.key_id, alg=e.algorithm) if e.created_now else
        _("checkpoint signing key %(key)s (%(alg)s) in use", key=e.key_id, alg=e.algorithm)),
    ev.AuthLocked: lambda e, actor, who: _("sign-in for %(user)s locked after repeated failures (from %(client)s)",
                                           user=e.username, client=e.client or "—"),
    ev.AuthSignedIn: lambda e, actor, who: _("%(name)s signed in from %(client)s", name=who(e.username or actor),
                                             client=e.client or "—"),
    ev.SessionRevoked: lambda e, actor, who: _("%(admin)s signed %(name)s out everywhere (%(n)s sessions, via "
                                               "%(via)s)", admin=who(actor), name=who(e.username), n=e.sessions,
                                               via=e.via),
    ev.NotifySent: _delivery,
    ev.NotifyFailed: _delivery,
    ev.DriftChecked: _drift,
    ev.DriftDetected: _drift,
    ev.DriftCleared: _drift,
    ev.DriftError: _drift,
    ev.AccessSnapshot: lambda e, actor, who: _(
        "access snapshot of %(day)s: %(n)s rights (%(gained)s gained, %(lost)s lost)", day=e.day, n=e.count,
        gained=len(e.gained), lost=len(e.lost)),
    ev.AccessReviewOpened: lambda e, actor, who: _("access review %(id)s opened by %(name)s (%(n)s rows, %(scope)s)",
                                                   id=e.review_id, name=e.name or who(actor), n=e.rows,
                                                   scope=e.repo or _("every repo")),
    ev.AccessDecided: lambda e, actor, who: _("access review %(id)s row %(row)s: %(decision)s by %(name)s",
                                              id=e.review_id, row=e.row, decision=e.decision,
                                              name=e.name or who(actor)) + (f" — {e.comment}" if e.comment else ""),
    ev.AccessReviewSigned: lambda e, actor, who: _(
        "access review %(id)s signed by %(name)s: %(kept)s kept, %(revoked)s revoked (“%(meaning)s”)",
        id=e.review_id, name=e.name or who(e.signer or actor), kept=e.kept, revoked=e.revoked, meaning=e.meaning),
    ev.AuditReconciled: lambda e, actor, who: _(
        "protected branches reconciled against git for %(start)s .. %(end)s by %(name)s: %(n)s exceptions",
        start=e.from_, end=e.to, name=who(actor), n=len(e.rows)),
    ev.AuditExported: lambda e, actor, who: _(
        "evidence pack of %(start)s .. %(end)s exported by %(name)s (log seqs 1..%(upto)s, %(n)s files)",
        start=e.from_, end=e.to, name=who(actor), upto=e.upto, n=len(e.files)),
    ev.KeyRotated: lambda e, actor, who: _("checkpoint signing key %(old)s replaced by %(new)s (signed by the old key)",
                                           old=e.old_key_id, new=e.new_key_id),
    ev.WitnessRefused: _witness_refused,
}


def summary(event: ev.Event, actor: str, who: Who = str) -> str:
    """The sentence for one typed log entry (the kind itself when a sentence is missing)."""
    fn = SUMMARIES.get(type(event))
    return fn(event, actor, who) if fn is not None else event.KIND
