"""``/changes``: the filterable, searchable, sortable list of change requests (SPEC §6, issue 25 item 6).

Text search (title, ticket, branch, requester, ``#id``), "mine" (I requested it) and "my groups" (a
rule of its categories names a group I am in), the policy's filters, four sort orders, and where each
CR stands (``policy.status``: blocked, rejected, withdrawn, superseded) with what happens next. The
list reads rows and a few batched queries per page, so it stays fast with 10,000 CRs.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext

from gatekeeper.actions import views
from gatekeeper.actions.status import statuses
from gatekeeper.errors import InputError
from gatekeeper.policy.states import State
from gatekeeper.store import changes as q
from gatekeeper.web.context import services
from gatekeeper.web.forms import period_problem
from gatekeeper.web.pages.auth import current_user, login_required
from gatekeeper.web.pages.changes import bp

PER_PAGE = 50
WHO = ("mine", "groups")
MAX_TEXT = 200


def _page_number(text: str) -> tuple[int, str | None]:
    """``?page=``: the page asked for (1 when missing), or 1 and why the text is not a page number."""
    page = text.strip() or "1"
    if page.isdecimal() and 0 < int(page) <= 10**9:
        return int(page), None
    return 1, _("“%(page)s” is not a page number: use a whole number from 1.", page=page[:20])


@bp.get("/changes")
@login_required
def index() -> Any:
    svc = services()
    me = current_user()
    assert me is not None
    args = request.args
    status = 0
    state = args.get("state") or None
    financial = {"yes": True, "no": False}.get(args.get("financial", ""))
    text = " ".join(args.get("q", "").split())[:MAX_TEXT] or None
    who = args.get("who") if args.get("who") in WHO else None
    order = args.get("sort", "newest") if args.get("sort") in q.ORDERS else "newest"
    page_no, problem = _page_number(args.get("page", ""))
    since = until = None
    try:
        if state and state not in {s.value for s in State}:
            raise InputError(f"unknown state {state!r} (states: {', '.join(s.value for s in State)})")
        if args.get("from") or args.get("to"):
            from gatekeeper.period import parse_period

            since, until = parse_period(args.get("from") or None, args.get("to") or None, ("from", "to"))
    except InputError as exc:
        from gatekeeper.period import PeriodError

        problem = period_problem(exc) if isinstance(exc, PeriodError) else exc.message
        state, since, until = None, None, None
    mine_only = me.username if who == "mine" else None
    groups = None
    if who == "groups":
        held = {m.group for m in svc.directory.memberships(me.username)}
        groups = [c.name for c in svc.config.categories if any(r.group in held for r in c.approvals)]

    def listing(number: int) -> tuple[list[dict[str, Any]], int]:
        with svc.store.read() as s:
            rows, total = q.listing(s, state=state, repo=args.get("repo") or None,
                                    category=args.get("category") or None, financial=financial, since=since,
                                    until=until, text=text, requested_by=mine_only, any_category=groups, order=order,
                                    limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
            found = statuses(s, rows)
            return [{**views.summary(svc, cr), "status": found[cr.id or 0].to_dict()} for cr in rows], total

    items, total = listing(page_no)
    filters = {k: v for k, v in args.items() if k != "page" and v}
    pages = max(1, -(-total // PER_PAGE))
    if page_no > pages and problem is None:  # ?page=999: say so in words, and show the last page there is
        problem = ngettext("There is no page %(page)s: the list has %(num)s page. Showing it.",
                           "There is no page %(page)s: the list has %(num)s pages. Showing the last one.",
                           pages, page=page_no)
        page_no, status = pages, 404
        items, total = listing(page_no)
    return render_template("changes/list.html", items=items, total=total, page=page_no, pages=pages,
                           filters=filters, states=[s.value for s in State],
                           repos=[r.name for r in svc.config.repos],
                           categories=[c.name for c in svc.config.categories], problem=problem,
                           orders=list(q.ORDERS)), \
        status if problem and status else (400 if problem else 200)
