"""The application's services inside a request (``web.context.services``): what every blueprint asks for.

Apart from ``web/__init__`` (the app factory), so the blueprints the factory registers do not import
the factory back.
"""

from __future__ import annotations

from gatekeeper.actions.context import Services


def services() -> Services:
    """The app's services; inside a request, with a request-scoped directory memo (issue 18): each
    directory question is asked once per request, and nothing is cached across requests."""
    from flask import current_app, g, has_request_context

    base: Services = current_app.extensions["gatekeeper"]
    if not has_request_context():
        return base
    scoped: Services | None = g.get("gatekeeper_services")
    if scoped is None:
        from dataclasses import replace

        from gatekeeper.directory.memo import MemoDirectory

        scoped = g.gatekeeper_services = replace(base, directory=MemoDirectory(base.directory))
    return scoped
