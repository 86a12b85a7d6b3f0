"""Strict models of the hook bodies (SPEC §6): a bad field is one clear 400, never a traceback."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from gatekeeper.errors import InputError
from gatekeeper.policy import refs
from gatekeeper.policy.fingerprint import FileChange

_SHA = r"^([0-9a-f]{40}|[0-9a-f]{64})$"
_B64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"  # standard base64, padded


MAX_ID = 2**31 - 1  # ids are INTEGER columns (32-bit on PostgreSQL)


def _integral(value: Any) -> Any:
    """JSON has one number type: ``12.0`` is the integer 12 (JSON Schema's ``integer``), ``12.5`` is not."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_integral)]
IntentId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_integral)]


class _Strict(BaseModel):
    # strict: JSON types as written (0 is not false, "1" is not 1), as the OpenAPI document says
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class CommitIn(_Strict):
    sha: str = Field(pattern=_SHA)
    author_name: str = ""
    author_email: str = ""
    committer_name: str = ""
    committer_email: str = ""
    committed_at: str = ""
    subject: str = ""
    co_authors: list[str] = []
    change_tickets: list[str] = []  # ``Change-Ticket:`` trailers, parsed by git (SPEC §11)


class ChangeIn(_Strict):
    path: str = Field(min_length=1, max_length=4096)
    status: str = "modified"
    old_blob: str = Field(pattern=_SHA)
    new_blob: str = Field(pattern=_SHA)
    old_mode: str = Field(pattern=r"^[0-7]{6}$")
    new_mode: str = Field(pattern=r"^[0-7]{6}$")
    old_content: str | None = Field(default=None, pattern=_B64)
    new_content: str | None = Field(default=None, pattern=_B64)
    old_too_large: JsonInt | None = None
    new_too_large: JsonInt | None = None
    binary: bool = False
    format: str | None = None

    def file_change(self) -> FileChange:
        return FileChange(self.path, self.old_blob, self.new_blob, self.old_mode, self.new_mode)

    def content(self, side: str) -> bytes | None:
        value = self.old_content if side == "old" else self.new_content
        return _b64(value, self.path) if value is not None else None


class ContextFileIn(_Strict):
    path: str
    format: str
    blob: str = ""
    content: str = Field(pattern=_B64)

    def data(self) -> bytes:
        return _b64(self.content, self.path)


class UpdateIn(_Strict):
    ref: str = Field(min_length=1, max_length=1024)
    old: str = Field(pattern=_SHA)
    new: str = Field(pattern=_SHA)
    base: str | None = Field(default=None, pattern=_SHA)
    target: str | None = None
    fast_forward: bool | None = None
    copy_of: list[str] = []
    protected_exists: bool = True
    peeled: str | None = Field(default=None, pattern=_SHA)   # a tag: the commit it names (SPEC §12 "Refs")
    held_by: list[str] = []                                   # a tag: protected branches whose history holds it
    commits: list[CommitIn] = []
    changes: list[ChangeIn] = []
    context: list[ContextFileIn] = []

    @property
    def deleted(self) -> bool:
        return refs.deleted(self.new)

    @property
    def created(self) -> bool:
        return refs.created(self.old)


class SettleIn(_Strict):
    """What a later hook run (or ``audit reconcile``) found about an open deploy intent (SPEC §11):
    the ref's value now and what its reflog records of exactly the intent's update (issue 22 item 1).
    The service accepts it only when ``ref``, ``old`` and ``new`` are the intent's own."""

    id: IntentId
    ref: str = Field(min_length=1, max_length=1024)
    old: str = Field(pattern=_SHA)
    new: str = Field(pattern=_SHA)
    actual: str | None = Field(default=None, pattern=_SHA)   # the ref's real value; None: no such ref
    file: str = Field(default="", max_length=512)              # the hook's intent note it came from ("": asked)
    noted_at: float | None = None                              # that note's time (git's clock)
    reflog: bool = False                                       # the ref has a reflog
    first_at: float | None = None                              # its first line's time
    first_created: bool = False                                # that line created the ref
    matches: list[float] = Field(default=[], max_length=100000)  # times of its lines recording old -> new
    commits: list[str] = Field(default=[], max_length=10000)   # first-parent commits old..new (a branch)

    @model_validator(mode="before")
    @classmethod
    def _numbers(cls, data: Any) -> Any:
        """JSON has one number type: a whole-second time may arrive as an integer."""
        if isinstance(data, dict):
            data = dict(data)
            for key in ("noted_at", "first_at"):
                if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
                    data[key] = float(data[key])
            if isinstance(data.get("matches"), list):
                data["matches"] = [float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                                   for v in data["matches"]]
        return data


class RefIn(_Strict):
    ref: str = Field(min_length=1, max_length=1024)
    old: str = Field(pattern=_SHA)
    new: str = Field(pattern=_SHA)


class StateFileIn(_Strict):
    """One file of the hook's state as the hook read it (``gitio.spool``): checked by its seal."""

    file: str = Field(min_length=1, max_length=512)
    kind: str = Field(pattern=r"^(intent|spool)$")
    repo: Any = None
    record: Any = None
    mac: Any = None


class SpooledIn(_Strict):
    """A refusal the hook made while the service was unreachable, delivered later from the repo's spool."""

    pusher: str | None = None
    push_options: list[str] = []
    refused_at: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=4096)
    refs: list[RefIn] = Field(min_length=1)


class HookRequest(_Strict):
    repo: str = Field(min_length=1)
    pusher: str | None = None
    updates: list[UpdateIn]
    push_options: list[str] = []
    intents: list[IntentId] = []     # post-receive: the deploy intents pre-receive got for this push
    settle: list[SettleIn] = Field(default=[], max_length=1000)  # stale intents of earlier pushes: their reflog
    state: list[StateFileIn] = Field(default=[], max_length=200)  # the hook's sealed files (gitio.spool.MAX_STATE)


class SignRequest(_Strict):
    decision: str = Field(pattern=r"^(approve|reject)$")
    meaning: str = ""
    comment: str = ""
    group: str | None = None
    # What the signer was shown (issue 22 item 5): when given and no longer the current revision's, 409.
    fingerprint: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    ticket: str | None = Field(default=None, max_length=200)


def _b64(value: str, path: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{path}: content is not valid base64") from exc


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: object) -> M:
    if not isinstance(data, dict):
        raise InputError("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise InputError(f"{where}: {err['msg']}") from exc
