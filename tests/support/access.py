"""A plant for the access review (issue 24): the test plant plus access reviewers and a disabled account.

``dave`` (an auditor) and ``mallory`` (no other right) review access; ``grace`` is disabled in the
file directory but still in ``ot-engineering-leads``, as a leaver whose account was switched off
and whose groups nobody cleaned up.
"""

from __future__ import annotations

from pathlib import Path

from gatekeeper import config
from gatekeeper.actions.context import Services
from gatekeeper.bootstrap import open_store
from gatekeeper.directory import open_directory
from tests.support.plant import GROUPS, POLICY, USERS, Plant, directory_toml, make_plant

REVIEWERS = ("dave", "mallory")
POLICY_ACCESS = POLICY.replace(
    "emergency_review_hours = 72", 'emergency_review_hours = 72\naccess_reviewers = ["access-reviewers"]')
ACCESS_GROUPS: dict[str, tuple[list[str], list[str]]] = {
    **GROUPS, "ot-engineering-leads": (["carol", "gina", "grace"], []), "access-reviewers": (list(REVIEWERS), [])}
ACCESS_USERS = {**USERS, "grace": ("Grace Leaver", "grace@plant.example")}


def access_directory(groups: dict[str, tuple[list[str], list[str]]] = ACCESS_GROUPS, disabled: str = "grace") -> str:
    """The file directory with ``disabled`` switched off (``disabled = true``) but left in its groups."""
    text = directory_toml(ACCESS_USERS, groups)
    return text.replace(f'username = "{disabled}"\n', f'username = "{disabled}"\ndisabled = true\n')


def make_access_plant(where: Path, database: str | None = None) -> Plant:
    plant = make_plant(where, database=database, policy=POLICY_ACCESS)
    plant.directory.write_text(access_directory())
    return plant


def set_groups(plant: Plant, groups: dict[str, tuple[list[str], list[str]]]) -> None:
    plant.directory.write_text(access_directory(groups))


def services(plant: Plant) -> Services:
    cfg = config.load(plant.config)
    return Services(config=cfg, store=open_store(cfg), directory=open_directory(cfg))


def three_reviews(svc: Services) -> dict[str, int]:
    """A review of each state on the access plant, as the pages show them: ``signed`` (grace's rights
    revoked, so /access lists revocations to carry out), ``to_sign`` (every row decided, the signature
    form up) and ``open`` (every repo, nothing decided: the checkboxes)."""
    from gatekeeper.actions import access_review as campaigns

    mallory, dave = svc.directory.get_user("mallory"), svc.directory.get_user("dave")
    assert mallory is not None and dave is not None

    def decide_all(review_id: int) -> None:
        with svc.store.read() as s:
            rows = campaigns.rows_of(s, review_id, limit=10_000)
        leaver = [r.position for r in rows if r.username == "grace"]
        campaigns.decide(svc, review_id, mallory, leaver, "revoke", "left the plant in January")
        campaigns.decide(svc, review_id, mallory, [r.position for r in rows if r.username != "grace"], "keep")

    signed = campaigns.open_review(svc, mallory, "plant-a-ot")
    decide_all(signed)
    campaigns.sign(svc, signed, mallory, campaigns.MEANINGS[0], "Q1")
    to_sign = campaigns.open_review(svc, mallory, "plant-a-ot")
    decide_all(to_sign)
    return {"signed": signed, "to_sign": to_sign, "open": campaigns.open_review(svc, dave)}
