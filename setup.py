"""The one packaging detail pyproject.toml cannot say: the hook shims' single source is the top-level
``hooks/`` folder (beside ``gatekeeper/``, ``config/`` and ``tests/``, where people look for git hooks),
and an installed package carries them as ``gatekeeper/shims/`` (``gitio.install.shim_dir``).
Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["gatekeeper*"]), "gatekeeper.shims"],
    package_dir={"gatekeeper.shims": "hooks"},
)
