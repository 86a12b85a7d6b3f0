"""The hook's and the API's request bodies (``actions.payloads``): strict JSON types, one clear
``InputError`` naming the field for anything else."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gatekeeper.actions.payloads import HookRequest, SignRequest, UpdateIn, parse
from gatekeeper.errors import InputError

SHA, NULL = "a" * 40, "0" * 40


def update(**kw: Any) -> dict[str, Any]:
    return {"ref": "refs/heads/main", "old": SHA, "new": NULL, **kw}


def test_a_valid_request_parses_and_knows_created_and_deleted() -> None:
    body = {"repo": "plant-a-ot", "pusher": "alice", "updates": [update()], "intents": [7.0], "unknown": "ignored"}
    req = parse(HookRequest, body)
    assert req.intents == [7] and req.updates[0].deleted and not req.updates[0].created  # 7.0 is JSON's 7
    created = parse(UpdateIn, update(old=NULL, new="b" * 64))
    assert created.created and not created.deleted


@pytest.mark.parametrize(("model", "body", "says"), [
    (HookRequest, ["not", "an", "object"], "request body must be a JSON object"),
    (HookRequest, {"repo": "", "updates": []}, "repo: String should have at least 1 character"),
    (HookRequest, {"repo": "r", "updates": [update(old="xyz")]}, "updates.0.old: String should match pattern"),
    (HookRequest, {"repo": "r", "updates": [], "intents": [0]}, "intents.0: Input should be greater than or equal"),
    (HookRequest, {"repo": "r", "updates": [], "intents": [7.5]}, "intents.0"),
    (HookRequest, {"repo": "r", "updates": "none"}, "updates: Input should be a valid list"),
    (SignRequest, {"decision": "approve", "comment": 1}, "comment: Input should be a valid string"),
    (SignRequest, {"decision": "maybe"}, "decision: String should match pattern"),
])
def test_bad_input_is_one_message_naming_the_field(model: Any, body: object, says: str) -> None:
    with pytest.raises(InputError, match=says):
        parse(model, body)


def test_file_contents_are_base64_checked_where_they_are_read() -> None:
    change = {"path": "erp/a.csv", "old_blob": NULL, "new_blob": SHA, "old_mode": "000000", "new_mode": "100644",
              "new_content": base64.b64encode(b"a;b\n").decode()}
    ch = parse(UpdateIn, update(changes=[change])).changes[0]
    assert ch.content("new") == b"a;b\n" and ch.content("old") is None
    assert ch.file_change().path == "erp/a.csv"
    with pytest.raises(InputError, match=r"updates\.0\.changes\.0\.new_content"):
        parse(HookRequest, {"repo": "r", "updates": [update(changes=[{**change, "new_content": "not base64!"}])]})
