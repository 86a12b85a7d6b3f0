"""Every outbound call has a TOTAL deadline (issue 22 item 9), against real slow peers on loopback.

The peer answers 200 and then sends one byte every half second (``Receiver`` ``"drip"``): each read
is quick, so only a deadline over the whole call ends it. Without one, ~250 bytes take two minutes.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatekeeper import outbound
from gatekeeper.config import DriftConfig, DriftSource, ItsmConfig, WebhookConfig
from gatekeeper.drift.fetch import SourceError, _http
from gatekeeper.itsm import Itsm, ItsmUnavailable
from gatekeeper.notify import webhooks
from tests.support.http_receiver import Receiver

ROOT = Path(__file__).parents[1] / "gatekeeper"


@pytest.fixture
def peer() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def bounded(limit: float) -> float:
    """The latest a call with deadline ``limit`` may end: the deadline plus scheduling slack."""
    return limit + 1.5


@pytest.mark.parametrize("how", ["drip", "drip-headers"])
def test_a_dripping_peer_is_cut_off_at_the_deadline(peer: Receiver, how: str) -> None:
    peer.script = [how]
    started = time.monotonic()
    with pytest.raises(outbound.DeadlineExceeded, match=r"no complete answer within 1 s"):
        outbound.get(peer.url + "/x", timeout=1.0)
    assert time.monotonic() - started < bounded(1.0)


def test_a_prompt_answer_is_read_in_full_and_a_huge_one_refused(peer: Receiver) -> None:
    assert outbound.get(peer.url + "/x", timeout=5).json() == {"ok": True}
    with pytest.raises(outbound.TooLarge, match="exceeds the limit of 4"):
        outbound.get(peer.url + "/x", timeout=5, max_bytes=4)


def test_itsm_webhooks_and_drift_are_bounded(peer: Receiver) -> None:
    peer.script = ["drip", "drip", "drip"]
    cfg = ItsmConfig(kind="jira", url=peer.url, token_env="GK_J", allowed_states=("Approved",), timeout=1)
    started = time.monotonic()
    with pytest.raises(ItsmUnavailable, match=r"Jira at .* did not answer within 1 s"):
        Itsm(cfg, env={"GK_J": "t"}).lookup("OPS-1")
    assert time.monotonic() - started < bounded(1.0)

    started = time.monotonic()
    with pytest.raises(webhooks.WebhookError, match="webhook soc: no answer within 1 s"):
        webhooks.post(WebhookConfig(name="soc", url=peer.url + "/gk"), "{}", {}, 1.0)
    assert time.monotonic() - started < bounded(1.0)

    source = DriftSource(name="line1", repo="plant-a-ot", path="tags/x.json", format="ignition-tags",
                         url=peer.url + "/tags")
    started = time.monotonic()
    with pytest.raises(SourceError, match="no response within 1 s"):
        _http(source, DriftConfig(timeout_seconds=1.0, max_bytes=10_000))
    assert time.monotonic() - started < bounded(1.0)


def test_nothing_calls_requests_but_the_helper() -> None:
    """One helper for every outbound call: ``requests``' own request functions and sessions are used
    nowhere else in the package, so no new call can forget the deadline."""
    calls = {"get", "post", "put", "patch", "delete", "head", "request", "Session", "session"}
    offenders = []
    for path in ROOT.rglob("*.py"):
        if path.name == "outbound.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr in calls and isinstance(node.value, ast.Name)
                    and node.value.id == "requests"):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} requests.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "requests" and \
                    calls & {a.name for a in node.names}:
                offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} from requests import …")
    assert offenders == []


def test_the_hooks_call_to_the_service_has_a_total_deadline_too(peer: Receiver) -> None:
    """The hooks' own socket client (standard library only) bounds the whole answer, not each read."""
    from gatekeeper.gitio.http import post_json

    peer.script = ["drip"]
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="no complete answer within 1 s"):
        post_json(peer.url, "/api/v1/hooks/pre-receive", b"{}", "token", 1.0)
    assert time.monotonic() - started < bounded(1.0)
