"""What every use case is handed (``actions.context.Services``): configuration, store, directory."""

from __future__ import annotations

from gatekeeper.actions.context import Services


def test_links_to_a_change_request_are_made_from_the_service_url(services: Services) -> None:
    assert services.change_url(12) == f"{services.config.service.url}/changes/12"
    assert services.store.health() == "ok" and services.directory.get_user("carol") is not None
