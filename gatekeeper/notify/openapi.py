"""The notification webhooks in the OpenAPI document (OpenAPI 3.1 ``webhooks``; SPEC §11).

Kept here so the API document's module only merges it in (``web/api/openapi.py``).
"""

from __future__ import annotations

from typing import Any

from gatekeeper.policy.notices import NOTICES

_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Stable delivery id (the same on every retry): drop duplicates by it."},
    {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unix seconds of this attempt; reject if far from now (replay)."},
    {"name": "webhook-signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "`v1,<base64 HMAC-SHA256>` over `id.timestamp.body`, keyed with the base64 secret after "
                    "its `whsec_` prefix (Standard Webhooks); several space-separated signatures may appear."},
]

SCHEMAS: dict[str, Any] = {
    "NotificationEvent": {
        "type": "object", "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "enum": list(NOTICES)},
            "timestamp": {"type": "string", "format": "date-time", "description": "when the event happened"},
            "data": {"type": "object", "required": ["change_id", "url", "repo", "target", "title", "state"],
                     "additionalProperties": True, "properties": {
                         "change_id": {"type": ["integer", "null"]}, "url": {"type": ["string", "null"]},
                         "repo": {"type": ["string", "null"]}, "target": {"type": ["string", "null"]},
                         "title": {"type": ["string", "null"]}, "state": {"type": ["string", "null"]},
                         "financial": {"type": "boolean"}, "ticket": {"type": "string"},
                         "ticket_state": {"type": ["string", "null"]},
                         "approvals_missing": {"type": "array", "items": {"type": "object"}},
                         "deadline": {"type": "string", "format": "date-time"}}},
        },
    },
}


def webhooks() -> dict[str, Any]:
    """One entry per event: a signed POST with a ``NotificationEvent`` body; any 2xx acknowledges it."""
    return {event: {"post": {
        "summary": f"{event} (kind = \"standard\"; teams/slack get their incoming-webhook message shapes)",
        "parameters": _HEADERS,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/NotificationEvent"}}}},
        "responses": {"2XX": {"description": "received; anything else (or no answer) is retried with backoff"}},
    }} for event in NOTICES}
