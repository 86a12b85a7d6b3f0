"""``gatekeeper diff`` without a policy infers the format from the content: every real sample is
recognised as what it is, and other content is recognised as none."""

from __future__ import annotations

import pytest

from gatekeeper.formats.infer import infer_format
from tests.formats.fixtures import HOSTILE, SAMPLES, read


@pytest.mark.parametrize(("fmt", "name"), [(fmt, name) for fmt, names in SAMPLES.items() for name in names])
def test_every_sample_is_recognised(fmt: str, name: str) -> None:
    assert infer_format(name, read(name)) == fmt


@pytest.mark.parametrize("data", [b"", b"# notes\n", b'{"name": "x"}', b"<html><body/></html>", bytes(range(256))])
def test_other_content_is_no_format(data: bytes) -> None:
    assert infer_format("x", data) is None


def test_hostile_samples_are_recognised_without_being_expanded() -> None:
    assert [infer_format(name, read(name)) for name in HOSTILE] == ["batchml", "batchml", None, None]
