"""The adapters a use case needs, wired once (by the web app factory or a CLI command)."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper import clock
from gatekeeper.config import Config
from gatekeeper.directory.base import Directory
from gatekeeper.store.db import Store


@dataclass
class Services:
    config: Config
    store: Store
    directory: Directory
    clock: clock.Clock = clock.system  # "now" for every use case and page (tests pass a fixed one)

    def change_url(self, change_id: int) -> str:
        return f"{self.config.service.url}/changes/{change_id}"
