"""Gatekeeper: SOC 1 change-management controls for OT configuration in Git.

Kept import-free on purpose: the git hooks import ``gatekeeper.gitio.hook`` on every push and
must not pay for Flask, SQLAlchemy or GitPython (see bench/hook_overhead.py).
"""

__version__ = "0.1.0"
