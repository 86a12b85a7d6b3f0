"""Notifications (issue 14, SPEC §11): a transactional outbox, e-mail, signed webhooks, the ITSM work note.

``events`` maps log entries to outbox rows (called by ``store.log.append``, inside the writer's
transaction); ``worker`` delivers them with retries; ``mail``, ``webhooks`` and ``gatekeeper.itsm``
are the channels; ``recipients`` decides who gets an e-mail; ``messages`` writes what it says.
"""
