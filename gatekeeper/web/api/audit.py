"""Auditors' downloads and metrics: the change register, the evidence pack, the control metrics
(SPEC §6, §9, §11)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gatekeeper.errors import InputError
from gatekeeper.web import downloads
from gatekeeper.web.auth import basic_auth, role_required
from gatekeeper.web.context import services

bp = Blueprint("api_audit", __name__)


def period_args() -> tuple[str, str]:
    from gatekeeper.period import parse_period

    start, end = request.args.get("from"), request.args.get("to")
    if not start or not end:
        raise InputError("the query parameters from and to are required (YYYY-MM-DD or RFC 3339), e.g. "
                         "?from=2026-01-01&to=2026-03-31")
    return parse_period(start, end, ("from", "to"))


@bp.get("/audit/register")
@basic_auth
@role_required("auditors", "admins")
def register_export() -> Response:
    start, end = period_args()
    stem = f"{request.args['from']}_{request.args['to']}"
    return downloads.register_download(services(), start, end, request.args.get("format", "csv"), stem)


@bp.get("/audit/evidence")
@basic_auth
@role_required("auditors", "admins")
def evidence() -> Response:
    start, end = period_args()
    return downloads.evidence_download(services(), start, end, f"{request.args['from']}_{request.args['to']}")


@bp.get("/audit/metrics")
@basic_auth
@role_required("auditors", "admins")
def metrics() -> Response:
    """SPEC §11: the control metrics of the period (optionally one repo / category) as JSON."""
    from gatekeeper.audit.metrics import compute

    start, end = period_args()
    repo, category = request.args.get("repo") or None, request.args.get("category") or None
    from gatekeeper.web.api.schemas import Metrics

    return jsonify(Metrics.model_validate(compute(services(), start, end, repo=repo, category=category))
                   .model_dump(mode="json"))
