"""Signing (``actions.signing``): a signature is decided in its write transaction, a refused one is
logged, a meaning and a rejection's comment are checked."""

from __future__ import annotations

import pytest

from gatekeeper.actions.context import Services
from gatekeeper.actions.payloads import SignRequest
from gatekeeper.actions.signing import sign
from gatekeeper.errors import Conflict, Forbidden, InputError
from tests.actions.test_changes import state, user
from tests.actions.test_push import approve, payloads, topic


def test_an_author_s_own_approval_is_refused_and_the_refusal_logged(services: Services) -> None:
    cid = topic(services, "refs/heads/t", ("cfg/a.txt", "A"))  # pushed by alice
    with pytest.raises(Forbidden, match="took part"):
        sign(services, cid, user(services, "alice"), SignRequest(decision="approve"))
    [refused] = payloads(services, "change.sign_refused")
    assert refused["signer"] == "alice" and refused["reasons"][0]["code"] == "sod.self"
    with pytest.raises(InputError, match="meaning of an approval must be one of"):
        sign(services, cid, user(services, "carol"), SignRequest(decision="approve", meaning="Looks fine"))
    with pytest.raises(InputError, match="a comment is required to reject"):
        sign(services, cid, user(services, "carol"), SignRequest(decision="reject"))
    sign(services, cid, user(services, "carol"), SignRequest(decision="reject", comment="wrong setpoint"))
    assert state(services, cid) == "rejected"
    with pytest.raises(Conflict, match="is rejected; signatures are taken while it is pending"):
        approve(services, cid, "gina")
