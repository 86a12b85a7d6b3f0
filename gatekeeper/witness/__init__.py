"""Witnesses (SPEC §12): independent services that cosign the log's checkpoints (C2SP tlog-witness).

``core`` decides one ``add-checkpoint`` request (pure), ``state`` keeps each log's latest cosigned
checkpoint in the witness's own SQLite file, ``server`` is ``gatekeeper witness serve``, and
``client`` is the log's side: it submits each new checkpoint to every ``[[ledger.witnesses]]``.
"""
