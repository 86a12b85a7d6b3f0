"""CR states (SPEC §2), with SPEC's strings."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DEPLOYED = "deployed"
    EMERGENCY = "emergency"
    RETRO_APPROVED = "retro-approved"


# A topic push revises a CR in one of these states; others are closed and a push opens a new one.
OPEN_STATES = (State.PENDING, State.APPROVED, State.REJECTED)
# Signatures are taken in these states (emergency: retrospective approval).
SIGNABLE_STATES = (State.PENDING, State.EMERGENCY)
