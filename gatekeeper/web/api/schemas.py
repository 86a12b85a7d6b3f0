"""The response (and request) bodies of the HTTP API as pydantic models: the handlers serialise
through them (``respond``) and ``/api/v1/openapi.json`` is generated from them, so the document
and the code cannot drift apart without ``make test`` (schemathesis) failing."""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1  # ids and seqs are INTEGER columns (32-bit on PostgreSQL); larger: 404/400, never a 500


class Out(BaseModel):
    """A response body: exactly these fields (``additionalProperties: false`` in the document)."""

    model_config = ConfigDict(extra="forbid")


def respond(model: type[Out], data: Any, status: int = 200) -> tuple[Response, int]:
    """Validate ``data`` against ``model`` and send it: a field the document lacks is a bug caught here."""
    return jsonify(model.model_validate(data).model_dump(mode="json")), status


class ReasonOut(Out):
    """A reason with its stable code (SPEC §12; docs/codes.md)."""

    code: str
    message: str


class ErrorDetail(Out):
    code: str
    message: str
    reasons: list[ReasonOut] | None = Field(default=None, description="the coded reasons behind a refusal "
                                            "(a 403 for segregation of duties)")


class Error(Out):
    error: ErrorDetail


class Health(Out):
    status: Literal["ok", "degraded"]
    database: str = Field(description='"ok" or what is wrong')
    directory: str = Field(description='"ok" or what is wrong')


class IntentRef(Out):
    """A deploy intent (SPEC §11): the gate's decision for one protected ref update."""

    id: int
    ref: str
    old: str
    new: str


class HookDecision(Out):
    allow: bool
    rejected: list[str] = Field(default_factory=list, description="files of the hook's state (spool/..., "
                                "intents/...) that failed their seal or shape: the hook sets them aside")
    messages: list[str]
    reasons: list[ReasonOut] = Field(default_factory=list, description="the messages with their reason codes "
                                     "(SPEC §12; docs/codes.md), in the same order")
    intents: list[IntentRef] = Field(default_factory=list, description="the deploy intents recorded for the "
                                     "allowed protected updates; post-receive confirms them by id")


class HookRecord(Out):
    messages: list[str]
    rejected: list[str] = Field(default_factory=list, description="files of the hook's state that failed "
                                "their seal or shape: the hook sets them aside")
    unsettled: list[IntentRef] = Field(default_factory=list, description="older intents still open: the hook "
                                       "settles them from the refs' real values on its next run")


class LeadTime(BaseModel):
    model_config = ConfigDict(extra="allow")
    median: float | None = None
    p90: float | None = None


class Metrics(BaseModel):
    """The control metrics of a period (SPEC §11): at least these keys; more breakdowns beside them."""

    model_config = ConfigDict(extra="allow")
    requested: int
    approved: int
    rejected: int
    deployed: int
    withdrawn: int
    emergency: int
    emergency_retro_in_time: int
    emergency_retro_late: int
    emergency_open: int
    refused_pushes: int
    deployed_with_complete_approvals: int
    approval_lead_time_hours: LeadTime


class Commit(Out):
    sha: str
    author_name: str | None
    author_email: str | None
    committer_name: str | None
    committer_email: str | None
    co_authors: list[str] | None
    subject: str | None
    committed_at: str | None


class RevisionOut(Out):
    number: int
    fingerprint: str
    head: str
    base: str
    pushed_by: str
    pushed_at: str
    ticket: str = Field(description="the ticket this revision is for: a new ticket is a new revision")
    title: str | None = Field(None, description="the revision's title (push option gatekeeper.title, else the "
                                                "latest commit's subject unless the author set one); null before "
                                                "titles were kept per revision")
    description: str = Field("", description="push option gatekeeper.description (kept until replaced)")
    commits: list[Commit]


class FileOut(Out):
    path: str
    status: str
    categories: list[str]
    old_blob: str
    new_blob: str
    old_mode: str
    new_mode: str


class Finding(Out):
    path: str
    location: str
    severity: Literal["error", "warning"]
    code: str = Field(description="reason code (docs/codes.md): format.*, a format's own "
                      "(batchml.*, ignition.*, kepware.*, plcopen.*, erp.*), path.malformed, ticket.*")
    message: str


class FileDiff(Out):
    path: str
    format: str | None
    changes: list[dict[str, Any]] = Field(description="kind, element, text, old, new, financial (and diff)")


class Rule(Out):
    group: str
    count: int


class ApprovalOut(Out):
    username: str
    name: str
    group: str
    decision: Literal["approve", "reject"]
    meaning: str
    comment: str
    signed_at: str
    revision: int
    fingerprint: str
    ticket: str | None = Field(description="the ticket signed for (null: signed before Gatekeeper recorded it)")
    title: str | None = Field(description="the title the signer was shown (null: signed before it was recorded)")
    target: str | None = Field(description="the target branch the signer was shown (null: before it was recorded)")
    counts: bool
    log_seq: int


class ChangeSummary(Out):
    id: int
    url: str
    repo: str
    target: str
    topic_ref: str
    title: str
    ticket: str
    ticket_state: str | None = Field(None, description="the ITSM's state of the ticket when last checked "
                                     "([itsm] configured), else null")
    state: str
    requested_by: str
    requested_at: str
    categories: list[str]
    financial: bool
    revision: int
    emergency: bool
    emergency_deadline: str | None
    overdue: bool
    deployed_at: str | None
    deployed_commit: str | None


class RejectionOut(Out):
    username: str
    name: str
    meaning: str
    comment: str
    at: str


class WithdrawalOut(Out):
    actor: str
    reason: str
    at: str


class Status(Out):
    """Where the change request stands and whose move it is (``policy.status``, docs/web-pages.md)."""

    standing: Literal["blocked", "rejected", "withdrawn", "superseded", "waiting", "ready", "done"]
    acts: Literal["author", "approvers", "nobody"]
    next: str = Field(description="the next step: fix_findings, authorized_push, known_pusher, fix_and_push, "
                                  "push_or_withdraw, use_newer, push_again, sign, retro, merge, none")
    reason: ReasonOut | None = Field(description="who and why (change.blocked, change.rejected, change.withdrawn, "
                                                 "change.superseded)")
    causes: list[ReasonOut]
    superseded_by: int | None
    rejection: RejectionOut | None
    withdrawal: WithdrawalOut | None


class Change(ChangeSummary):
    """One CR (SPEC §10): revisions, files, semantic diff, rules, approvals, SoD findings."""

    emergency_reason: str | None
    approved_at: str | None
    retro_approved_at: str | None
    deployed_by: str | None
    fingerprint: str
    revisions: list[RevisionOut]
    files: list[FileOut]
    findings: list[Finding]
    semantic_diff: list[FileDiff]
    approvals_required: list[Rule]
    approvals_missing: list[Rule]
    approvals: list[ApprovalOut]
    sod_findings: list[ReasonOut]
    meanings: list[str]
    reject_meanings: list[str] = Field(description="the meanings a rejection may carry (SPEC §12 reject_meanings)")
    description: str = ""
    status: Status
    log_seqs: list[int]


class ChangeList(Out):
    changes: list[ChangeSummary]
    total: int
    limit: int
    offset: int


class LogEntry(Out):
    seq: int
    ts: str
    kind: str
    actor: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class LogPage(Out):
    entries: list[LogEntry]
    head_seq: int


class Checkpoint(Out):
    seq: int
    hash: str
    ts: str
    key_id: str
    signature: str
    note: str | None = Field(default=None, description="the C2SP signed note of the Merkle tree (SPEC §12)")
    cosignatures: list[str] | None = Field(default=None, description="witnesses' note signature lines")


class WithdrawRequest(BaseModel):
    """The optional body of a withdrawal."""

    model_config = ConfigDict(extra="forbid", strict=True)
    reason: str = Field(default="", max_length=1000)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=256)


class Revoked(Out):
    username: str
    revoked: int
