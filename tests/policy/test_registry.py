"""The format registry (``policy.registry``): names, tag formats, and the format a path has."""

from __future__ import annotations

import pytest

from gatekeeper.policy.registry import CONTEXT_FORMATS, CROSS_FILE_FORMATS, FORMAT_NAMES, TAG_FORMATS, format_of
from gatekeeper.policy.rules import ApprovalRule, Category

LEADS = (ApprovalRule("leads", 1),)
CATS = [Category("tags", ("tags/**/*.json",), LEADS, format="ignition-tags"),
        Category("docs", ("docs/**",), ()),
        Category("default", ("**",), LEADS, format="kepware-project")]


def test_every_named_format_is_known_to_the_format_package() -> None:
    from gatekeeper import formats
    from gatekeeper.errors import ConfigError

    for name in FORMAT_NAMES:  # each name reaches a parser (an empty file gives findings, not "unknown format")
        assert isinstance(formats.validate(name, "x", b""), tuple)
    with pytest.raises(ConfigError, match="unknown format"):
        formats.validate("no-such-format", "x", b"")
    assert set(TAG_FORMATS) <= set(FORMAT_NAMES) and set(CROSS_FILE_FORMATS) <= set(FORMAT_NAMES)
    assert CONTEXT_FORMATS == TAG_FORMATS + CROSS_FILE_FORMATS


def test_format_of_takes_the_first_matching_category_that_names_one() -> None:
    assert format_of("tags/line1/tt.json", CATS) == "ignition-tags"
    assert format_of("docs/readme.md", CATS) is None  # matched by a category without a format
    assert format_of("plc/unit.xml", CATS) == "kepware-project"  # the default only when no other matches
