"""Notifications (issue 14, SPEC §11): a transactional outbox, e-mail, signed webhooks, the ITSM work note.

``events.Outbox`` is a listener of the log (registered by ``gatekeeper.bootstrap``): it turns the
entries ``policy.notices`` says are worth telling into outbox rows, inside the writer's
transaction; ``worker`` delivers them with retries; ``mail``, ``webhooks`` and ``gatekeeper.itsm``
are the channels; ``recipients`` decides who gets an e-mail; ``messages`` writes what it says.
"""
