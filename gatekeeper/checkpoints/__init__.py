"""Signed checkpoints of the change log (SPEC §8, §10, §12) and what they need outside the database.

``keys``: the Ed25519 signing key on disk (never in the database); ``sign``: checkpoints of the log
head, on demand and automatically every ``service.checkpoint_every`` entries (a store listener);
``anchor``: copies kept where the database administrator cannot rewrite them (a Git ref, a file).
"""
