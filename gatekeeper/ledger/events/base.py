"""Typed log payloads: ``Record`` (a value stored in a payload) and ``Event`` (one log kind).

A record turns into a canonical-JSON-ready dict (``to_payload``) and back (``from_payload``) over its
dataclass fields, so no reader outside ``ledger/`` reads a payload by string key and a renamed field
fails in one place. The log is immutable: a payload written before a field existed reads back with
the field's default, and a field marked ``omitted_when_default`` is left out of new payloads while it
holds its default (kinds that only sometimes carried a key keep their shape).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self, get_args, get_origin, get_type_hints

from gatekeeper.ledger import legacy

_OMIT = "gatekeeper.omit_default"
_SCALARS = frozenset({str, int, float, bool})


def omitted_when_default(default: Any = None) -> Any:
    """A field left out of the payload while it holds ``default`` (and read back as it when absent)."""
    return dataclasses.field(default=default, metadata={_OMIT: True})


def _plain(value: Any) -> Any:
    """Tuples → lists, nested records → payloads: what canonical JSON stores."""
    if value is None or type(value) in _SCALARS:
        return value
    if isinstance(value, Record):
        return value.to_payload()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _record_type(hint: Any) -> type[Record] | None:
    """The record class a field holds (``R``, ``R | None`` or ``tuple[R, ...]``), or None."""
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint
    for arg in get_args(hint):
        if arg is not type(None) and arg is not Ellipsis and (found := _record_type(arg)) is not None:
            return found
    return None


@dataclass(frozen=True)
class Record:
    """Base of every typed payload value: ``to_payload``/``from_payload`` over the dataclass fields."""

    def to_payload(self) -> dict[str, Any]:
        out = {}
        for name, omit, default in _layout(type(self)):
            value = getattr(self, name)
            if omit and value == default:
                continue
            out[name] = _plain(value)
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        if not isinstance(payload, Mapping):
            raise ValueError(f"{cls.__name__}: a payload must be a JSON object")
        hints = _hints(cls)
        kw = {}
        for f in fields(cls):
            if f.name in payload:
                kw[f.name] = _read(hints[f.name], payload[f.name])
        return cls(**kw)

    @classmethod
    def coerce(cls, value: Any) -> Self:
        """A nested value of a payload as this record."""
        return cls.from_payload(value)


def _layout(cls: type[Record]) -> tuple[tuple[str, bool, Any], ...]:
    """``(name, omitted when default, default)`` per field, worked out once per class (payloads of
    thousands of files are written on the push path)."""
    cached = _LAYOUTS.get(cls)
    if cached is None:
        cached = _LAYOUTS[cls] = tuple((f.name, bool(f.metadata.get(_OMIT)), f.default) for f in fields(cls))
    return cached


_LAYOUTS: dict[type, tuple[tuple[str, bool, Any], ...]] = {}


def _hints(cls: type[Record]) -> dict[str, Any]:
    cached = _HINTS.get(cls)
    if cached is None:
        cached = _HINTS[cls] = get_type_hints(cls)
    return cached


_HINTS: dict[type, dict[str, Any]] = {}


def _read(hint: Any, value: Any) -> Any:
    """A payload value as the field's type: nested records parsed, lists frozen into tuples."""
    record = _record_type(hint)
    if record is None or value is None:
        return _frozen(value)
    if get_origin(hint) is tuple or any(get_origin(a) is tuple for a in get_args(hint)):
        # One value where a list is due: ``change.sign_refused`` logged its reasons as one sentence.
        return tuple(record.coerce(v) for v in (value if isinstance(value, list | tuple) else [value]))
    return record.coerce(value)


@dataclass(frozen=True)
class Reason(Record):
    """Why something was refused, found or decided (SPEC §12): a stable ``code`` (``<area>.<reason>``,
    listed in docs/codes.md and ``policy.reasons``) and the sentence people read. Metrics and pages
    count the code, never the words."""

    code: str = ""
    message: str = ""

    def __str__(self) -> str:
        return self.message

    @classmethod
    def coerce(cls, value: Any) -> Self:
        """A reason as stored: an object, or the bare sentence of a payload logged before codes existed."""
        if isinstance(value, str):
            return cls(legacy.code_of(value), value)
        return cls.from_payload(value)


@dataclass(frozen=True)
class Event(Record):
    """One log kind: ``KIND`` is the entry's ``kind``; the fields are its payload."""

    KIND: ClassVar[str] = ""

