"""``/``: what needs me now (SPEC §6): my change requests that wait for me (blocked, rejected,
superseded, ready to merge: issue 25), approvals I may sign, my changes, recent deployments, and
emergency changes awaiting retrospective approval, overdue ones first.

"Approvals waiting for me" runs the same SoD check as signing, so the list never offers a change
that would then refuse the signature. Cheap filters (state, the rules' groups) come first; the full
check runs on at most ``SCAN_LIMIT`` open changes, newest first.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, render_template
from sqlmodel import col, select

from gatekeeper.actions import review as rv
from gatekeeper.actions import views
from gatekeeper.actions.status import statuses
from gatekeeper.policy.states import OPEN_STATES, SIGNABLE_STATES, State
from gatekeeper.store import changes as q
from gatekeeper.store.tables import ChangeRequest, Deployment, Revision
from gatekeeper.web.context import services
from gatekeeper.web.pages.auth import current_user, login_required

bp = Blueprint("pages_dashboard", __name__)

SCAN_LIMIT = 200
TODO_LIMIT = 25
MINE_LIMIT = 20
DEPLOY_LIMIT = 10
EMERGENCY_LIMIT = 100
ACTION_LIMIT = 100


@bp.get("/")
@login_required
def index() -> Any:
    svc = services()
    me = current_user()
    assert me is not None
    my_groups = {m.group for m in svc.directory.memberships(me.username)}
    todo: list[dict[str, Any]] = []
    with svc.store.read() as s:
        open_crs = s.exec(select(ChangeRequest)
                          .where(col(ChangeRequest.state).in_([st.value for st in SIGNABLE_STATES]))
                          .order_by(col(ChangeRequest.id).desc()).limit(SCAN_LIMIT + 1)).all()
        scanned = [cr for cr in open_crs[:SCAN_LIMIT]
                   if my_groups.intersection(r.group for r in rv.rules_of(svc, cr))]
        # Two queries for every scanned CR's revisions and signatures, not three per CR.
        ids = [cr.id for cr in scanned]
        revisions: dict[int | None, list[Revision]] = defaultdict(list)
        for rev in s.exec(select(Revision).where(col(Revision.change_id).in_(ids)).order_by(col(Revision.number))):
            revisions[rev.change_id].append(rev)
        approvals = q.approvals_by_change(s, [i for i in ids if i is not None])
        for cr in scanned:
            if len(todo) >= TODO_LIMIT:
                break
            review = rv.review(svc, s, cr, revisions=revisions[cr.id], approvals=approvals[cr.id or 0])
            if not rv.signing(svc, s, cr, me, review).may_approve:  # the signature's own answer
                continue
            todo.append({**views.summary(svc, cr), "missing": review.missing})
        mine_rows = s.exec(select(ChangeRequest).where(ChangeRequest.requested_by == me.username)
                           .order_by(col(ChangeRequest.id).desc()).limit(MINE_LIMIT)).all()
        # Needs my action (issue 25): my open CRs whose next move is mine (blocked, rejected, superseded,
        # approved and ready to merge), as ``policy.status`` decides; not only the newest few.
        open_mine = s.exec(select(ChangeRequest).where(ChangeRequest.requested_by == me.username,
                                                       col(ChangeRequest.state).in_([st.value for st in OPEN_STATES]))
                           .order_by(col(ChangeRequest.id).desc()).limit(ACTION_LIMIT)).all()
        standing = statuses(s, [*mine_rows, *open_mine])
        mine = [{**views.summary(svc, cr), "status": standing[cr.id or 0].to_dict()} for cr in mine_rows]
        action = [{**views.summary(svc, cr), "status": standing[cr.id or 0].to_dict()} for cr in open_mine
                  if standing[cr.id or 0].needs_author]
        deployments = s.exec(select(Deployment).order_by(col(Deployment.at).desc()).limit(DEPLOY_LIMIT)).all()
        titles = {cr.id: cr.title for cr in s.exec(select(ChangeRequest).where(
            col(ChangeRequest.id).in_([d.change_id for d in deployments if d.change_id]))).all()}
        emergencies = [{**views.summary(svc, cr), "emergency_reason": cr.emergency_reason} for cr in s.exec(
            select(ChangeRequest).where(ChangeRequest.state == State.EMERGENCY.value)
            .order_by(col(ChangeRequest.emergency_deadline)).limit(EMERGENCY_LIMIT)).all()]
    emergencies.sort(key=lambda e: (not e["overdue"], e["emergency_deadline"] or ""))
    return render_template(
        "dashboard.html", todo=todo, todo_truncated=len(todo) >= TODO_LIMIT or len(open_crs) > SCAN_LIMIT,
        scan_limit=SCAN_LIMIT, mine=mine, action=action, deployments=deployments, titles=titles,
        emergencies=emergencies, overdue=sum(1 for e in emergencies if e["overdue"]))
