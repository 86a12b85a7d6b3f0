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


# CommonMark lets any ASCII punctuation be backslash-escaped: shown as itself, never markup.
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_FIELD_MAX = 1900  # Slack: a field's text holds at most 2000 characters


def teams_text(text: str) -> str:
    """``text`` for a Teams Adaptive Card TextBlock or fact: every ASCII punctuation character
    backslash-escaped (CommonMark), so a title or comment cannot bold, link (``[x](url)``), list,
    mention (``<at>``) or call a template function (``{{DATE(…)}}``); line breaks become spaces."""
    flat = " ".join(text.splitlines())
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in flat)


def slack_text(text: str) -> str:
    """``text`` for Slack: ``&``, ``<`` and ``>`` as entities (Slack's only escapes), so no ``<!channel>``,
    ``<@U…>`` or ``<url|label>`` from a title or comment is parsed. Formatting is not escapable in
    mrkdwn, so user text goes into ``plain_text`` objects (``slack_body``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_body(headline: str, facts: list[tuple[str, str]], url: str | None) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
        "body": [{"type": "TextBlock", "text": teams_text(headline), "weight": "Bolder", "wrap": True},
                 {"type": "FactSet", "facts": [{"title": teams_text(k), "value": teams_text(v)} for k, v in facts]}],
    }
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Gatekeeper", "url": url}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def slack_body(headline: str, facts: list[tuple[str, str]], url: str | None) -> dict[str, Any]:
    """Titles and comments only ever in ``plain_text`` (no markup, no links, no mentions) and escaped;
    the one mrkdwn text is Gatekeeper's own link. ``mrkdwn: false`` keeps the notification text plain."""
    def plain(text: str, limit: int = _FIELD_MAX) -> dict[str, Any]:
        return {"type": "plain_text", "text": slack_text(" ".join(text.splitlines())[:limit]) or " ", "emoji": False}

    blocks: list[dict[str, Any]] = [{"type": "section", "text": plain(headline, 2900)}]
    fields = [plain(f"{k}: {v}") for k, v in facts]
    blocks += [{"type": "section", "fields": fields[i:i + 10]} for i in range(0, len(fields), 10)]
    if url:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{slack_text(url)}|Open in Gatekeeper>",
                                                   "verbatim": True}})
    text = slack_text(" ".join(headline.splitlines())) + (f" {slack_text(url)}" if url else "")
    return {"text": text, "mrkdwn": False, "unfurl_links": False, "blocks": blocks}


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
