"""A worker's first requests made cheap: what each request path would otherwise do once per process
(import its modules, compile its templates, build its translation catalogues) done at start.

Measured on this project's load bench: a fresh worker's first ``/changes/<id>`` cost 298 ms of CPU
(35 ms warm), its first pre-receive 128 ms (14 ms warm). Under gunicorn every worker pays that on its
first requests, after each deploy, restart and ``max_requests`` recycling, while pushers wait behind
them; so ``create_app`` warms a worker before it accepts requests when it runs under gunicorn. The
single-process ``gatekeeper serve`` (the demo, the tests) starts without it: there it would only
move the same cost to start-up.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import sys

from flask import Flask

# The packages request paths import from, some of them lazily (a format's parser, the gate, i18n).
PACKAGES = ("gatekeeper.actions", "gatekeeper.policy", "gatekeeper.formats", "gatekeeper.ledger",
            "gatekeeper.store", "gatekeeper.directory", "gatekeeper.notify", "gatekeeper.web")


def under_gunicorn() -> bool:
    """Whether this process is a gunicorn worker (gunicorn imports the app in its workers)."""
    return "gunicorn.workers.base" in sys.modules


def warm(app: Flask, languages: tuple[str, ...]) -> None:
    """Import the request paths' modules, compile every page template and build each offered
    language's catalogue now. Nothing here reads the database or changes state."""
    from gatekeeper import i18n

    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            if ".migrations" not in info.name:
                with contextlib.suppress(ImportError):  # an optional extra not installed: its path says so
                    importlib.import_module(info.name)
    for template in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        app.jinja_env.get_template(template)
    for lang in languages:
        i18n.translations(lang)
