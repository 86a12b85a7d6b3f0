"""The tamper-evident change log, pure: canonical JSON, entry hashes, checkpoints, verification."""
