"""Git adapters. ``hook``, ``plumbing`` and ``receive`` use only the standard library (every push
pays their import time); ``install`` and ``history`` may use GitPython."""
