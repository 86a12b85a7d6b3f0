"""Reason codes and which one names a refusal (SPEC §12): the vocabulary ``policy.reasons`` builds on.

Standard library only: the pack's ``verify.py`` bundles this module (``verifier/bundle.py``), so the
metrics it recomputes count refused pushes by exactly the codes and precedence the service uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache


class Code(StrEnum):
    """Every reason code, ``<area>.<reason>`` (docs/codes.md lists the same)."""

    # The gate (SPEC §2, §7): one protected ref update.
    GATE_NO_PUSHER = "gate.no_pusher"
    GATE_UNKNOWN_PUSHER = "gate.unknown_pusher"
    GATE_UNKNOWN_REPO = "gate.unknown_repo"
    GATE_DIRECTORY_UNAVAILABLE = "gate.directory_unavailable"
    GATE_ITSM_UNAVAILABLE = "gate.itsm_unavailable"
    GATE_DELETE_PROTECTED = "gate.delete_protected"
    GATE_NON_FAST_FORWARD = "gate.non_fast_forward"
    GATE_NOT_A_COPY = "gate.not_a_copy"
    GATE_UNAPPROVED_FILE = "gate.unapproved_file"
    GATE_NOT_WHOLE = "gate.not_whole"
    GATE_OVERLAP = "gate.overlap"
    GATE_CONTENT_DIFFERS = "gate.content_differs"
    GATE_CHANGED_MEANWHILE = "gate.changed_meanwhile"
    GATE_BEING_DEPLOYED = "gate.being_deployed"
    GATE_SERVICE_UNREACHABLE = "gate.service_unreachable"
    GATE_NO_DECISION = "gate.no_decision"
    # Refs other than protected branches (SPEC §12 "Refs").
    GATE_TAG_DELETED = "gate.tag_deleted"
    GATE_TAG_MOVED = "gate.tag_moved"
    GATE_TAG_NOT_HELD = "gate.tag_not_held"
    GATE_TAG_NOT_A_COMMIT = "gate.tag_not_a_commit"
    GATE_REF_NOT_ALLOWED = "gate.ref_not_allowed"
    # What the gate allowed.
    GATE_DEPLOY = "gate.deploy"
    GATE_COPY = "gate.copy"
    GATE_NO_APPROVAL_NEEDED = "gate.no_approval_needed"
    GATE_EMERGENCY = "gate.emergency"
    GATE_TAG = "gate.tag"
    # Break-glass (SPEC §7).
    EMERGENCY_NO_REASON = "emergency.no_reason"
    EMERGENCY_DISABLED = "emergency.disabled"
    EMERGENCY_NOT_ALLOWED = "emergency.not_allowed"
    EMERGENCY_RETRO_DUE = "emergency.retro_due"
    # Segregation of duties (SPEC §3).
    SOD_SELF = "sod.self"
    SOD_NOT_IN_GROUP = "sod.not_in_group"
    SOD_ONE_SLOT = "sod.one_slot"
    SOD_SLOTS_FILLED = "sod.slots_filled"
    SOD_NO_APPROVAL_NEEDED = "sod.no_approval_needed"
    SOD_UNKNOWN_SIGNER = "sod.unknown_signer"
    SOD_UNAUTHORIZED_AUTHOR = "sod.unauthorized_author"
    SOD_UNKNOWN_PUSHER = "sod.unknown_pusher"
    SOD_UNKNOWN_CO_AUTHOR = "sod.unknown_co_author"
    SOD_UNKNOWN_COMMIT_IDENTITY = "sod.unknown_commit_identity"
    SOD_EXTERNAL_IDENTITY = "sod.external_identity"
    SOD_LOOKALIKE_IDENTITY = "sod.lookalike_identity"
    SOD_HIDDEN_CHARACTERS = "sod.hidden_characters"
    # A change request as a whole.
    APPROVAL_MISSING = "approval.missing"
    CHANGE_VALIDATION_ERRORS = "change.validation_errors"
    CHANGE_NOT_APPROVED = "change.not_approved"
    CHANGE_NOT_SIGNABLE = "change.not_signable"
    CHANGE_NOT_AUTHOR = "change.not_author"
    CHANGE_NOT_WITHDRAWABLE = "change.not_withdrawable"
    # Where a change request stands and who acts next (``policy.status``, issue 25).
    CHANGE_BLOCKED = "change.blocked"
    CHANGE_REJECTED = "change.rejected"
    CHANGE_WITHDRAWN = "change.withdrawn"
    CHANGE_SUPERSEDED = "change.superseded"
    # Findings on a revision's files (SPEC §10 ``findings``).
    FORMAT_INVALID = "format.invalid"
    FORMAT_TOO_LARGE = "format.too_large"
    PATH_MALFORMED = "path.malformed"
    # A format's finding whose rule knows what is wrong (named by the format; ``format.invalid`` otherwise).
    BATCHML_MIXED_UNITS = "batchml.mixed_units"
    BATCHML_NOT_A_NUMBER = "batchml.not_a_number"
    BATCHML_OUT_OF_LIMITS = "batchml.out_of_limits"
    IGNITION_UNDEFINED_TYPE = "ignition.undefined_type"
    IGNITION_UNDEFINED_PARAM = "ignition.undefined_param"
    IGNITION_ENG_RANGE_ORDER = "ignition.eng_range_order"
    IGNITION_ALARM_OUTSIDE_ENG_RANGE = "ignition.alarm_outside_eng_range"
    IGNITION_OPC_INCOMPLETE = "ignition.opc_incomplete"
    KEPWARE_BAD_ADDRESS = "kepware.bad_address"
    PLCOPEN_UNDECLARED_VARIABLE = "plcopen.undeclared_variable"
    PLCOPEN_CONNECTION_TYPE_MISMATCH = "plcopen.connection_type_mismatch"
    ERP_DUPLICATE_MAPPING_ID = "erp.duplicate_mapping_id"
    ERP_UNIT_CHANGED_FACTOR_KEPT = "erp.unit_changed_factor_kept"
    # The change ticket (SPEC §11).
    TICKET_MISSING = "ticket.missing"
    TICKET_MALFORMED = "ticket.malformed"
    TICKET_PATTERN = "ticket.pattern"
    TICKET_NOT_FOUND = "ticket.not_found"
    TICKET_STATE = "ticket.state"
    # The hook's own state in the bare repo (issue 22 item 2): why a file was set aside.
    HOOK_STATE_UNSEALED = "hook.state_unsealed"
    HOOK_STATE_FORGED = "hook.state_forged"
    HOOK_STATE_FOREIGN = "hook.state_foreign"
    HOOK_STATE_MALFORMED = "hook.state_malformed"
    HOOK_STATE_MISMATCH = "hook.state_mismatch"
    # Read from entries logged before reason codes existed (``ledger.legacy``).
    LEGACY_UNCLASSIFIED = "legacy.unclassified"


def area(code: str) -> str:
    """``sod`` for ``sod.self``."""
    return code.split(".", 1)[0]


FORMAT_AREAS: tuple[str, ...] = ("format", "batchml", "ignition", "kepware", "plcopen", "erp")
"""Areas of the findings on a file's content: ``format.*`` and the codes a format's own rule names."""


# Which reason names a refusal with several (a ref with three blocking files, a CR with two problems):
# the first here, by code or by area (the areas of ``FORMAT_AREAS`` rank as "format"). The order the
# auditor's metrics always used.
PRECEDENCE: tuple[str, ...] = (
    Code.GATE_NO_PUSHER, Code.GATE_UNKNOWN_PUSHER, Code.GATE_UNKNOWN_REPO, Code.GATE_DIRECTORY_UNAVAILABLE,
    Code.GATE_ITSM_UNAVAILABLE, "emergency", Code.GATE_REF_NOT_ALLOWED, Code.GATE_DELETE_PROTECTED,
    Code.GATE_TAG_DELETED, Code.GATE_NON_FAST_FORWARD, Code.GATE_TAG_MOVED, Code.GATE_NOT_A_COPY,
    Code.GATE_TAG_NOT_A_COMMIT, Code.GATE_TAG_NOT_HELD, "path", "sod", Code.CHANGE_VALIDATION_ERRORS, "format",
    Code.GATE_OVERLAP,
    Code.GATE_NOT_WHOLE, Code.GATE_CONTENT_DIFFERS, "ticket", Code.APPROVAL_MISSING, Code.GATE_UNAPPROVED_FILE,
    Code.CHANGE_NOT_APPROVED, Code.GATE_CHANGED_MEANWHILE, Code.GATE_BEING_DEPLOYED,
)


@lru_cache(maxsize=1024)
def code_rank(code: str) -> int:
    """Where ``code`` stands in ``PRECEDENCE`` (by itself or by its area); unlisted codes last. The
    format areas share one rank: a file's findings name a refusal where ``format.invalid`` always did.
    Remembered (a few dozen codes exist; the metrics rank one per refused ref)."""
    key = "format" if area(code) in FORMAT_AREAS else code
    for i, listed in enumerate(PRECEDENCE):
        if key == listed or area(key) == listed:
            return i
    return len(PRECEDENCE)


def primary_code(codes: Iterable[str]) -> str | None:
    """The code that names a refusal with several (``PRECEDENCE``); None for none."""
    return min(codes, key=code_rank, default=None)
