"""Where the application's collaborators are wired, once (STYLE §4: one wiring point).

The store is only the database; what must happen with every log entry is registered on it here as a
listener, told inside the entry's own transaction (``store.db.AppendListener``): automatic signed
checkpoints (``checkpoints.sign.AutoCheckpoint``) and the notification outbox
(``notify.events.Outbox``). The web app factory and the CLI both open their store through this.
"""

from __future__ import annotations

from gatekeeper.checkpoints.sign import AutoCheckpoint
from gatekeeper.config import Config
from gatekeeper.notify.events import Outbox
from gatekeeper.store.db import Store


def open_store(config: Config, *, create: bool = True) -> Store:
    """The store for a loaded ``Config``: ``service.database``, with a checkpoint every
    ``checkpoint_every`` entries and the outbox filled when ``[notify]`` or ``[itsm]`` is configured.
    ``create=False`` leaves the migrations to the caller (the web app, which may start before the database)."""
    store = Store(config.service.database, create=create)
    if config.service.checkpoint_every > 0:
        store.listen(AutoCheckpoint(config.service.checkpoint_every, config.service.signing_key,
                                    origin=config.service.origin))
    outbox = Outbox.from_config(config)
    if outbox is not None:
        store.listen(outbox)
    return store
