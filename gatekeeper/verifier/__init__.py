"""The evidence pack's verifier and the one projection from log entries to the pack's tables (SPEC §12).

Everything here is standard library only: ``bundle.py`` joins these modules (with
``ledger/merkle.py`` and ``ledger/note.py``) into the single file ``verify.py`` that each pack
carries and ``gatekeeper audit verifier`` writes. The exporter (``audit/evidence.py``) builds the
pack's tables with the very same ``projection`` the verifier re-runs, so the two cannot disagree.

Modules, in bundle order: ``tables`` (columns, cells, exception rows), ``metrics`` (the control
metrics), ``projection`` (log entries → tables), ``chain`` (the log file: hashes, links, tree),
``trust`` (pinned keys, witnesses, key rotation), ``packdir`` (reading an untrusted folder),
``checks`` (one check per pack file), ``cli`` (``python3 verify.py``).
"""
