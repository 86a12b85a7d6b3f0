"""A throwaway plant policy and file directory for tests (cheap argon2 parameters, same code path)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher

from tests.support.process import free_port

_fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

USERS = {
    "alice": ("Alice Engineer", "alice@plant.example"),
    "bob": ("Bob Controller", "bob@plant.example"),
    "carol": ("Carol Lead", "carol@plant.example"),
    "dave": ("Dave Auditor", "dave@plant.example"),
    "erin": ("Erin On-Call", "erin@plant.example"),
    "frank": ("Frank Admin", "frank@plant.example"),
    "gina": ("Gina Lead", "gina@plant.example"),
    "mallory": ("Mallory Outsider", "mallory@plant.example"),
}
GROUPS = {
    "ot-engineers": (["alice", "erin"], ["ot-engineering-leads"]),
    "ot-engineering-leads": (["carol", "gina"], []),
    "finance-controllers": (["bob"], []),
    "auditors": (["dave"], []),
    "ot-emergency": (["erin"], []),
    "gatekeeper-admins": (["frank"], []),
}


def password(user: str) -> str:
    return f"pw-{user}-secret"


POLICY = """\
[service]
url = "{url}"
database = "{database}"
signing_key = "signing-key.pem"
fail_open = false

[directory]
kind = "file"
path = "directory.toml"

[access]
daily_snapshot = false  # tests take access snapshots themselves (tests/actions/test_access.py)

[roles]
auditors = ["auditors"]
admins = ["gatekeeper-admins"]
emergency = ["ot-emergency"]
emergency_review_hours = 72

[[repos]]
name = "plant-a-ot"
protected = ["main", "release/*"]

[[categories]]
name = "recipes"
paths = ["recipes/**"]
format = "batchml"
authors = ["ot-engineers"]
approvals = [ {{ group = "ot-engineering-leads", count = 1 }} ]
meanings = ["Reviewed and approved", "Approved for production"]

[[categories]]
name = "erp-mapping"
paths = ["erp/**"]
financial = true
authors = ["ot-engineers"]
approvals = [ {{ group = "finance-controllers", count = 1 }},
              {{ group = "ot-engineering-leads", count = 1 }} ]
meanings = ["Reviewed and approved"]

[[categories]]
name = "scada-tags"
paths = ["tags/**"]
authors = ["ot-engineers"]
approvals = [ {{ group = "ot-engineering-leads", count = 1 }} ]

[[categories]]
name = "ignition-tags"
paths = ["tags/ignition/**"]
format = "ignition-tags"
authors = ["ot-engineers"]
approvals = [ {{ group = "ot-engineering-leads", count = 1 }} ]

[[categories]]
name = "erp-mapping-format"
paths = ["erp/**/*.csv"]
format = "erp-mapping-csv"
financial = true
authors = ["ot-engineers"]
approvals = [ {{ group = "finance-controllers", count = 1 }} ]

[[categories]]
name = "docs"
paths = ["docs/**", "*.md"]
approvals = []

[[categories]]
name = "default"
authors = ["ot-engineers"]
approvals = [ {{ group = "ot-engineering-leads", count = 1 }} ]
"""


def directory_toml(users: dict[str, tuple[str, str]] = USERS,
                   groups: dict[str, tuple[list[str], list[str]]] = GROUPS) -> str:
    out = []
    for name, (full, email) in users.items():
        out.append(f'[[users]]\nusername = "{name}"\nname = "{full}"\nemail = "{email}"\n'
                   f'password_hash = "{_fast.hash(password(name))}"\n')
    for gname, (members, nested) in groups.items():
        out.append(f'[[groups]]\nname = "{gname}"\nmembers = {members!r}\ngroups = {nested!r}\n'.replace("'", '"'))
    return "\n".join(out)


@dataclass
class Plant:
    dir: Path
    config: Path
    directory: Path
    url: str
    port: int
    database: str

    def write_directory(self, groups: dict[str, tuple[list[str], list[str]]]) -> None:
        self.directory.write_text(directory_toml(groups=groups))

    def move_to(self, port: int) -> None:
        """The service's URL on another port (its port was taken before it could bind it)."""
        url = f"http://127.0.0.1:{port}"
        self.config.write_text(self.config.read_text().replace(self.url, url))
        self.url, self.port = url, port


# SPEC §12 "Refs": the repo's protected tags and one listed ref outside refs/heads/ and refs/tags/.
REF_RULES = 'protected_tags = ["v*"]\nother_refs = ["refs/notes/*"]\n'


def with_ref_rules(plant: Plant) -> Plant:
    """``plant`` whose repo also has ``REF_RULES`` (before the service starts and hooks are installed)."""
    text = plant.config.read_text()
    plant.config.write_text(text.replace('protected = ["main", "release/*"]\n',
                                         'protected = ["main", "release/*"]\n' + REF_RULES, 1))
    return plant


def make_plant(tmp: Path, database: str | None = None, policy: str = POLICY) -> Plant:
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = database or f"sqlite:///{tmp / 'gatekeeper.db'}"
    cfg = tmp / "gatekeeper.toml"
    cfg.write_text(policy.format(url=url, database=db))
    d = tmp / "directory.toml"
    d.write_text(directory_toml())
    return Plant(dir=tmp, config=cfg, directory=d, url=url, port=port, database=db)


@functools.cache
def _schema_template() -> Path:
    """An empty SQLite database at the newest schema, migrated once per test process (removed at exit)."""
    from gatekeeper.store.db import Store

    folder = Path(tempfile.mkdtemp(prefix="gk-schema-"))
    atexit.register(shutil.rmtree, folder, True)
    store = Store(f"sqlite:///{folder / 'gatekeeper.db'}")  # runs the migrations
    store.dispose()  # the last connection closed: the WAL is checkpointed into the file and removed
    if (folder / "gatekeeper.db-wal").exists():
        raise RuntimeError("the schema template still has a write-ahead log")
    return folder / "gatekeeper.db"


def migrated(plant: Plant) -> Plant:
    """Give a plant whose SQLite database does not exist yet a copy of an empty one at the newest schema,
    which is what its first ``repo create`` or ``serve`` would make (the migrations themselves are tested
    in tests/store and by the plants that start without one); saves every such plant running them."""
    if plant.database.startswith("sqlite:///"):
        path = Path(plant.database.removeprefix("sqlite:///"))
        if not path.exists():
            shutil.copyfile(_schema_template(), path)
    return plant
