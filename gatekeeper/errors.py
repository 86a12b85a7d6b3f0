"""The one family of errors a user is meant to see (STYLE: one fatal error per failure).

Each error knows how it is rendered at the three boundaries: the CLI (``exit_code``), the HTTP API
(``http_status`` and ``code``) and the git hook (its message, prefixed ``gatekeeper: ``).
"""

from __future__ import annotations


class GatekeeperError(Exception):
    """Base class: a failure with one clear message and no traceback for the user."""

    code = "error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str, *, reasons: tuple[dict[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = reasons  # the coded reasons behind the message (SPEC §12), for the API body

    def to_dict(self) -> dict[str, dict[str, object]]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.reasons:
            body["reasons"] = list(self.reasons)
        return {"error": body}


class ConfigError(GatekeeperError):
    """Bad configuration; names the file, the key and the line where known."""

    code = "config"
    http_status = 500
    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 line: int | None = None) -> None:
        where = ""
        if file:
            where = file + (f":{line}" if line else "")
        if key:
            where = f"{where}: {key}" if where else key
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.key, self.line = file, key, line


class InputError(GatekeeperError):
    """Bad input: malformed JSON, hostile XML, binary where text is needed, a bad argument."""

    code = "bad_request"
    http_status = 400
    exit_code = 2


class AuthError(GatekeeperError):
    code = "unauthorized"
    http_status = 401
    exit_code = 1


class Forbidden(GatekeeperError):
    """Not allowed; for SoD the message is the finding itself, the same in UI, API and log."""

    code = "forbidden"
    http_status = 403
    exit_code = 1


class NotFound(GatekeeperError):
    code = "not_found"
    http_status = 404
    exit_code = 1


class Conflict(GatekeeperError):
    """The request does not fit the current state (signing a deployed CR, say)."""

    code = "conflict"
    http_status = 409
    exit_code = 1


class ServiceUnavailable(GatekeeperError):
    code = "unavailable"
    http_status = 503
    exit_code = 1


class DirectoryUnavailable(ServiceUnavailable):
    code = "directory_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached (down, restarting, network): 503, and the hook says so (SPEC §11)."""

    code = "database_unavailable"


class RateLimited(GatekeeperError):
    """Too many requests from one client in the current window; ``retry_after`` seconds to wait."""

    code = "rate_limited"
    http_status = 429
    exit_code = 1

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LedgerBroken(GatekeeperError):
    """The change log does not verify; names the first bad sequence number (SPEC §10)."""

    code = "ledger_broken"
    http_status = 500
    exit_code = 1

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"FAILED at seq {seq}: {reason}")
        self.seq, self.reason = seq, reason
