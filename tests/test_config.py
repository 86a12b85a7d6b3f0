"""Config errors name the file, the key and the line (SPEC §4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper import config
from gatekeeper.errors import ConfigError
from tests.support.plant import POLICY

BASE = POLICY.format(url="http://127.0.0.1:9", database="sqlite:///gk.db")


def load_text(tmp_path: Path, text: str) -> config.Config:
    p = tmp_path / "gatekeeper.toml"
    p.write_text(text)
    return config.load(p)


def test_sample_config_loads_and_resolves_relative_paths() -> None:
    cfg = config.load(Path(__file__).parents[1] / "config" / "gatekeeper.toml")
    assert cfg.repo("plant-a-ot") is not None
    assert cfg.service.database.startswith("sqlite:////")
    assert {c.name for c in cfg.categories} >= {"recipes", "scada-tags", "erp-mapping", "docs", "default"}
    assert cfg.category("erp-mapping").financial is True  # type: ignore[union-attr]


@pytest.mark.parametrize(("old", "new", "message"), [
    ('fail_open = false', 'fail_open = false\nfail_closed = true',
     r"gatekeeper.toml:\d+: service.fail_closed: unknown key"),
    ('fail_open = false', 'fail_open = "no"', r":\d+: service.fail_open: must be true or false, not str"),
    ('emergency_review_hours = 72', 'emergency_review_hours = "72"',
     r"roles.emergency_review_hours: must be an integer"),
    ('fail_open = false', 'fail_open = false\nhook_token = "abc"', r"service.hook_token: secrets are never written"),
    ('name = "default"', 'name = "fallback"\npaths = ["other/**"]',
     r'categories: a category named "default" is required'),
    ('format = "batchml"', 'format = "docx"', r":\d+: categories\[recipes\].format: unknown format 'docx'"),
    ('approvals = []', '', r"categories\[docs\].approvals: is required"),
    ('[service]', '[service\n', r"invalid TOML"),
    ('count = 1 }} ]\nmeanings', 'count = 0 }} ]\nmeanings', r"count must be a positive integer"),
    ('protected = ["main", "release/*"]', 'protected = ["main", "release/[0-9"]',
     r":\d+: repos\[plant-a-ot\].protected: unterminated character class"),
    ('protected = ["main", "release/*"]', 'protected = ["main", "refs/tags/v*"]',
     r"repos\[plant-a-ot\].protected: 'refs/tags/v\*': only branches are protected"),
    ('paths = ["erp/**"]', 'paths = ["!erp/**"]', r"categories\[erp-mapping\].paths: '!erp/\*\*': negation"),
    # SPEC §12 "Refs" and "Commit identities": fail closed on patterns that would protect or list nothing.
    ('protected = ["main", "release/*"]', 'protected = ["main"]\nprotected_tags = ["refs/heads/v*"]',
     r"repos\[plant-a-ot\].protected_tags: 'refs/heads/v\*': write the tag name"),
    ('protected = ["main", "release/*"]', 'protected = ["main"]\nprotected_tags = ["v 1"]',
     r"repos\[plant-a-ot\].protected_tags: 'v 1' contains"),
    ('protected = ["main", "release/*"]', 'protected = ["main"]\nother_refs = ["refs/*"]',
     r"repos\[plant-a-ot\].other_refs: 'refs/\*': name refs outside"),
    ('[roles]', '[sod]\nunknown_commit_identity = "warn"\n\n[roles]', r'sod.unknown_commit_identity: must be "block"'),
    ('[roles]', '[sod]\nexternal_identities = ["*@*"]\n\n[roles]', r"sod.external_identities: '\*@\*': name"),
    ('meanings = ["Reviewed and approved", "Approved for production"]',
     'meanings = ["Reviewed and approved"]\nreject_meanings = []', r"reject_meanings: must list at least one"),
    ('meanings = ["Reviewed and approved", "Approved for production"]',
     'meanings = ["Reviewed and approved"]\nreject_meanings = ["Reviewed and approved"]',
     r":\d+: categories\[recipes\].reject_meanings: 'Reviewed and approved' is also an approval meaning"),
])
def test_config_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    old, new = old.replace("{{", "{").replace("}}", "}"), new.replace("{{", "{").replace("}}", "}")
    assert old in BASE
    with pytest.raises(ConfigError, match=message):
        load_text(tmp_path, BASE.replace(old, new, 1))


def test_line_number_is_the_keys_line(tmp_path: Path) -> None:
    text = BASE.replace('fail_open = false', 'fail_open = "no"')
    line = text.splitlines().index('fail_open = "no"') + 1
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text)
    assert err.value.line == line and f"gatekeeper.toml:{line}:" in err.value.message


def test_group_unknown_to_directory(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, BASE.replace('group = "finance-controllers"', 'group = "finanse"', 1))
    with pytest.raises(ConfigError, match=r":\d+: categories\[erp-mapping\].approvals: group 'finanse' is not known"):
        config.check_groups(cfg, known={"ot-engineers", "ot-engineering-leads", "finance-controllers",
                                        "auditors", "ot-emergency", "gatekeeper-admins"})


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        config.load(tmp_path / "nope.toml")


def test_ref_rules_and_commit_identities_are_read(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, BASE.replace('protected = ["main", "release/*"]',
                                           'protected = ["main"]\nprotected_tags = ["refs/tags/v*", "rel/"]\n'
                                           'other_refs = [" refs/notes/* "]').replace(
        "[roles]", '[sod]\nunknown_commit_identity = "flag"\nexternal_identities = ["*@integrator.example"]\n\n'
                   "[roles]"))
    repo = cfg.repo("plant-a-ot")
    assert repo is not None and repo.protected_tags == ("v*", "rel/**") and repo.other_refs == ("refs/notes/*",)
    assert (cfg.sod.unknown_commit_identity, cfg.sod.external_identities) == ("flag", ("*@integrator.example",))
    assert config.load(Path(__file__).parents[1] / "config" / "gatekeeper.toml").sod.unknown_commit_identity == "block"


def test_protected_patterns_are_kept_in_canonical_form(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, BASE.replace('protected = ["main", "release/*"]',
                                           'protected = ["refs/heads/main", "release/", " hotfix/* "]'))
    assert cfg.repo("plant-a-ot").protected == ("main", "release/**", "hotfix/*")  # type: ignore[union-attr]
