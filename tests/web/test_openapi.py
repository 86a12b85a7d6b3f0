"""The document and the routes agree: every API route is documented with its methods and nothing
documented is missing (schemathesis in tests/e2e/test_api_contract.py then checks the bodies)."""

from __future__ import annotations

import re

from flask import Flask

from gatekeeper.web.api.openapi import OPERATIONS, document


def test_every_api_route_is_documented_and_every_operation_exists(app: Flask) -> None:
    routes: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if (rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json") or rule.rule == "/healthz":
            path = re.sub(r"<(?:\w+:)?\w+>", "{id}", rule.rule)
            routes |= {(m.lower(), path) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    documented = {(op.method, op.path) for op in OPERATIONS}
    assert routes == documented


def test_document_is_generated_from_the_models() -> None:
    doc = document()
    schemas = doc["components"]["schemas"]
    assert {"Change", "ChangeList", "HookDecision", "HookRecord", "HookRequest", "SignRequest", "Health", "Error",
            "LogPage", "Checkpoint"} <= set(schemas)
    assert schemas["Change"]["additionalProperties"] is False
    for path, item in doc["paths"].items():
        for op in item.values():
            assert "405" in op["responses"] and "Allow" in op["responses"]["405"]["headers"], path
            assert "500" not in op["responses"], path
