"""A small client for the service's API (the CLI's ``change`` commands)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
import requests

from gatekeeper import outbound
from gatekeeper.errors import AuthError, GatekeeperError, NotFound, ServiceUnavailable


class Client:
    def __init__(self, url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.url, self.auth, self.timeout = url.rstrip("/"), (username, password), timeout

    def get(self, path: str, **params: Any) -> Any:
        try:
            resp = outbound.get(self.url + path, params={k: v for k, v in params.items() if v is not None},
                                auth=self.auth, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"service unreachable at {self.url} ({exc.__class__.__name__}): is it running, "
                                     "and is service.url in the policy file its address?") from exc
        return _result(resp)


def _result(resp: requests.Response) -> Any:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.ok and body is not None:
        return body
    message = (body or {}).get("error", {}).get("message") if isinstance(body, dict) else None
    message = message or f"HTTP {resp.status_code}"
    if resp.status_code == 401:
        raise AuthError(message)
    if resp.status_code == 404:
        raise NotFound(message)
    raise GatekeeperError(message)


def from_env(url: str, user: str | None) -> Client:
    """Credentials: --user or GATEKEEPER_USER; password from GATEKEEPER_PASSWORD or a prompt."""
    username = user or os.environ.get("GATEKEEPER_USER")
    if not username:
        raise AuthError("no username: pass --user or set GATEKEEPER_USER")
    password = os.environ.get("GATEKEEPER_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise AuthError("no password: set GATEKEEPER_PASSWORD or run in a terminal")
        password = click.prompt(f"Password for {username}", hide_input=True)
    return Client(url, username, password)
