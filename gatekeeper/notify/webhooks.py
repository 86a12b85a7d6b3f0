"""Webhooks (``[[notify.webhooks]]``, SPEC §11): Standard Webhooks, Microsoft Teams and Slack shapes.

``standard``: the body ``{"type", "timestamp", "data"}`` signed per the Standard Webhooks spec with the
``standardwebhooks`` package: headers ``webhook-id`` (stable across retries, so the receiver drops
duplicates), ``webhook-timestamp`` (this attempt, Unix seconds) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the ``whsec_`` base64 secret).
``teams``: an Adaptive Card message as Teams' incoming-webhook workflows take it. ``slack``: an
incoming-webhook message with ``text`` and a ``section`` block. Errors name the hook and the HTTP
status or failure, never the URL (Slack and Teams URLs are themselves credentials).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook

from gatekeeper import outbound
from gatekeeper.config import WebhookConfig


class WebhookError(Exception):
    """A delivery failed (status, timeout, refused): the worker retries it with backoff."""


def standard_body(event: str, timestamp: str, data: dict[str, Any]) -> str:
    """SPEC §11 body; compact JSON so the signed bytes are exactly the bytes sent."""
    return json.dumps({"type": event, "timestamp": timestamp, "data": data}, separators=(",", ":"),
                      ensure_ascii=False, sort_keys=True)


def sign(secret: str, msg_id: str, when: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=when, data=body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature}


def teams_body(headline: str, facts: list[tuple[str, str]], url: str | None) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
        "body": [{"type": "TextBlock", "text": headline, "weight": "Bolder", "wrap": True},
                 {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]}],
    }
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Gatekeeper", "url": url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def slack_body(headline: str, facts: list[tuple[str, str]], url: str | None) -> dict[str, Any]:
    def esc(text: str) -> str:  # Slack mrkdwn control characters
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    lines = [f"*{esc(headline)}*", *(f"{esc(k)}: {esc(v)}" for k, v in facts)]
    if url:
        lines.append(f"<{url}|Open in Gatekeeper>")
    text = "\n".join(lines)
    return {"text": f"{headline} {url or ''}".strip(), "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                                                          "text": text}}]}


def post(hook: WebhookConfig, body: str, headers: dict[str, str], timeout: float) -> int:
    """POST one delivery; a 2xx answer is success, anything else raises ``WebhookError``."""
    try:
        resp = outbound.post(hook.url, data=body.encode("utf-8"), timeout=timeout,
                             headers={"Content-Type": "application/json", "User-Agent": "gatekeeper-notify",
                                      **headers})
    except requests.Timeout:
        raise WebhookError(f"webhook {hook.name}: no answer within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise WebhookError(f"webhook {hook.name}: {type(exc).__name__} (cannot connect)") from None
    if not 200 <= resp.status_code < 300:
        raise WebhookError(f"webhook {hook.name}: HTTP {resp.status_code}")
    return resp.status_code


def now() -> datetime:
    return datetime.now(UTC)
