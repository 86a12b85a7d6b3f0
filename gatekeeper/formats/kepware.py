"""Kepware projects: Config API JSON (channels → devices → tag groups → tags) and the "Project
Maker" layout (``Channels/*.json`` naming a driver, a device and a tag CSV under ``Tags/``).

Tag paths are ``Channel.Device[.TagGroup…].Tag``. Config API keys and CSV columns map to the same
property names ("address", "data type", "scan rate", "scaling raw low" …) so both read alike in a
diff; keys without a friendly name are shown as written, never dropped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from gatekeeper.formats._common import (
    NO_CONTEXT,
    ContentError,
    Element,
    brief,
    compare,
    decode_text,
    describe_plain,
    error,
    finding,
    load_json,
    parse_number,
    read_csv,
    show,
    summary_of,
    validate_with,
)
from gatekeeper.formats.base import Context, Finding, SemanticChange
from gatekeeper.formats.kepware_drivers import BAD_ADDRESS, address_problem, ui_name, ui_value

WHAT = "kepware-project"
NAME_KEY = "common.ALLTYPES_NAME"
DRIVER_KEY = "servermain.MULTIPLE_TYPES_DEVICE_DRIVER"
DATA_TYPES = {-1: "Default", 0: "String", 1: "Boolean", 2: "Char", 3: "Byte", 4: "Short", 5: "Word",
              6: "Long", 7: "DWord", 8: "Float", 9: "Double", 10: "BCD", 11: "LBCD", 12: "Date", 13: "LLong",
              14: "QWord",
              20: "String Array", 21: "Boolean Array", 22: "Char Array", 23: "Byte Array", 24: "Short Array",
              25: "Word Array", 26: "Long Array", 27: "DWord Array", 28: "Float Array", 29: "Double Array",
              30: "BCD Array", 31: "LBCD Array", 32: "Date Array", 33: "LLong Array", 34: "QWord Array"}
"""``servermain.TAG_DATA_TYPE`` codes of the Kepware Config API and the names its CSV uses."""
TYPE_NAMES = frozenset(name.casefold() for name in DATA_TYPES.values())
SCAN_RATE_MS = (10, 99_999_990)
"""Kepware's accepted client scan-rate range in milliseconds."""
SCALING = {0: "None", 1: "Linear", 2: "Square Root"}
ACCESS = {0: "Read Only", 1: "Read/Write"}
CSV_COLUMNS = {"Tag Name": "name", "Address": "address", "Data Type": "data type",
               "Respect Data Type": "respect data type", "Client Access": "client access",
               "Scan Rate": "scan rate", "Scaling": "scaling", "Raw Low": "scaling raw low",
               "Raw High": "scaling raw high", "Scaled Low": "scaling scaled low",
               "Scaled High": "scaling scaled high", "Scaled Data Type": "scaling scaled data type",
               "Clamp Low": "scaling clamp low", "Clamp High": "scaling clamp high",
               "Eng Units": "scaling units", "Description": "description",
               "Negate Value": "scaling negate value"}
LEVELS = (("channels", "channel"), ("devices", "device"), ("tag_groups", "tag group"), ("tags", "tag"))
CHILDREN = {"project": ("channels",), "channel": ("devices",), "device": ("tag_groups", "tags"),
            "tag group": ("tag_groups", "tags"), "tag": ()}


@dataclass
class KepwareFile:
    """One file of either layout; ``tags`` holds full tag paths (Config API) or CSV tag names."""

    layout: Literal["config-api", "channel", "tag-csv"]
    elements: dict[str, Element] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    device: str = ""
    tag_file: str = ""


def parse(data: bytes, path: str = "") -> KepwareFile:
    if path.lower().endswith(".csv"):
        return _parse_csv(decode_text(data, WHAT), path)
    document = load_json(data, WHAT)
    if isinstance(document, dict) and "tagPath" in document and "deviceName" in document:
        return _parse_channel(document, path)
    return _ConfigApi(path).parse(document)


def validate(path: str, data: bytes, context: Context = NO_CONTEXT) -> list[Finding]:
    return validate_with(parse, check, path, data, context)


def diff(path: str, old: bytes, new: bytes) -> list[SemanticChange]:
    return changes(parse(old, path), parse(new, path))


def check(path: str, model: KepwareFile, context: Context = NO_CONTEXT) -> list[Finding]:
    """Problems found while reading; a Project Maker tag CSV's addresses are checked against the
    driver of the channel file that names it (from the repo's context)."""
    found = list(model.problems)
    driver = (context.drivers or {}).get(_norm(path), "") if model.layout == "tag-csv" else ""
    for tag in model.tags if driver else []:
        element = model.elements[tag]
        problem = address_problem(driver, element.props.get("address", ""))
        if problem:
            found.append(error(path, element.location, f"tag {tag}: {problem}", code=BAD_ADDRESS))
    return found


def drivers(files: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    """Tag CSV path (normalised) → driver, from the Project Maker channel files among ``files``."""
    found: dict[str, str] = {}
    for path, data in files:
        if path.lower().endswith(".csv"):
            continue
        try:
            model = parse(data, path)
        except Exception:  # noqa: S112 - unreadable channel files name no driver
            continue
        if model.layout == "channel":
            base = posixpath.dirname(posixpath.dirname(_norm(path)))
            driver = next(iter(model.elements.values())).props.get("driver", "")
            found[_norm(posixpath.join(base, model.tag_file.replace("\\", "/")))] = driver
    return found


def changes(old: KepwareFile | None, new: KepwareFile | None) -> list[SemanticChange]:
    return compare(old.elements if old else {}, new.elements if new else {}, _describe,
                   lambda e: summary_of(e, ("address", "data type", "driver", "deviceName", "tagPath")),
                   _scaled)


def _scaled(element: Element) -> bool:
    """A tag with scaling reports a converted quantity: adding or removing it is financial."""
    return any(key.startswith("scaling") and value not in ("", "None")
               for key, value in element.props.items())


def _describe(element: Element, prop: str, old: str | None, new: str | None) -> tuple[str, bool]:
    text, _ = describe_plain(element, prop, old, new)
    if prop == "scan rate" and old is not None and new is not None:
        text += " ms"
    return text, prop.startswith("scaling")


def tag_paths(files: Iterable[tuple[str, bytes]]) -> set[str]:
    """All tag paths of a repo's Kepware files; Project Maker tags join a channel file to the CSV its
    ``tagPath`` names, relative to the folder above ``Channels/`` (matched leniently: case, ``\\``)."""
    return set(tag_facts(files))


def tag_facts(files: Iterable[tuple[str, bytes]]) -> dict[str, tuple[str, str]]:
    """Tag path → (data type, engineering unit) of a repo's Kepware files (see :func:`tag_paths`);
    a scaled tag reports its scaled data type."""
    facts: dict[str, tuple[str, str]] = {}
    channels: list[tuple[str, KepwareFile]] = []
    csv_models: dict[str, KepwareFile] = {}
    for path, data in files:
        try:
            model = parse(data, path)
        except Exception:  # noqa: S112 - unreadable files define no tags; the mapping check names them
            continue
        if model.layout == "config-api":
            facts.update((tag, _facts(model.elements.get(tag))) for tag in model.tags)
        elif model.layout == "channel":
            channels.append((path, model))
        else:
            csv_models[_norm(path)] = model
    by_name: dict[str, list[str]] = {}
    for csv_path in csv_models:
        by_name.setdefault(posixpath.basename(csv_path), []).append(csv_path)
    for path, channel in channels:
        base = posixpath.dirname(posixpath.dirname(_norm(path)))
        wanted = _norm(posixpath.join(base, channel.tag_file.replace("\\", "/")))
        if wanted not in csv_models:
            same_name = by_name.get(posixpath.basename(wanted), [])
            wanted = same_name[0] if len(same_name) == 1 else wanted
        stem = posixpath.splitext(posixpath.basename(path.replace("\\", "/")))[0]
        tag_csv = csv_models.get(wanted)
        for tag in tag_csv.tags if tag_csv else []:
            facts[f"{stem}.{channel.device}.{tag}"] = _facts(tag_csv.elements.get(tag) if tag_csv else None)
    return facts


def _facts(element: Element | None) -> tuple[str, str]:
    props = element.props if element else {}
    data_type = props.get("data type", "")
    if _scaled(element) if element else False:
        data_type = props.get("scaling scaled data type", "") or data_type
    return data_type, props.get("scaling units", "")


def _norm(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).casefold()


def _parse_channel(document: dict[str, Any], path: str) -> KepwareFile:
    stem = posixpath.splitext(posixpath.basename(path.replace("\\", "/")))[0] or "channel"
    model = KepwareFile("channel", device=show(document.get("deviceName", "")),
                        tag_file=show(document.get("tagPath", "")))
    props = {key: show(value) for key, value in document.items()}
    model.elements[stem] = Element("channel", stem, props, "$")
    for key in ("driver", "deviceName", "tagPath"):
        if not show(document.get(key, "")).strip():
            model.problems.append(error(path, f"$.{key}", f"channel {stem}: missing {key}"))
    if not show(document.get("deviceID", "")).strip():
        model.problems.append(finding(path, "$.deviceID", "warning", f"channel {stem}: missing deviceID"))
    return model


def _parse_csv(text: str, path: str) -> KepwareFile:
    rows = read_csv(text)
    if not rows:
        raise ContentError("empty file: a Kepware tag CSV needs a header line with 'Tag Name' and 'Address'")
    header = [cell.strip() for cell in rows[0][1]]
    missing = [column for column in ("Tag Name", "Address") if column not in header]
    if missing:
        raise ContentError(f"not a Kepware tag CSV: header lacks {', '.join(missing)}", "line 1")
    model, seen = KepwareFile("tag-csv"), set()
    for line, row in rows[1:]:
        where = f"line {line}"
        if len(row) != len(header):
            model.problems.append(error(path, where, f"expected {len(header)} fields, found {len(row)}"))
            continue
        props = {CSV_COLUMNS.get(column, column): value.strip()
                 for column, value in zip(header, row, strict=True)}
        name = props.pop("name")
        if not name:
            model.problems.append(error(path, where, "tag without name"))
            continue
        if name.casefold() in seen:
            model.problems.append(error(path, where, f"duplicate tag name {name}"))
            continue
        seen.add(name.casefold())
        model.tags.append(name)
        model.elements[name] = Element("tag", name, props, where)
        _check_tag(model.problems, path, where, name, props)
    return model


def _check_tag(problems: list[Finding], path: str, where: str, name: str, props: dict[str, str]) -> None:
    """Missing address, unknown data type, scan rate outside Kepware's range, degenerate scaling."""
    if not props.get("address"):
        problems.append(error(path, where, f"tag {name}: missing address"))
    data_type = props.get("data type", "")
    if data_type and data_type.casefold() not in TYPE_NAMES:
        problems.append(error(path, where, f"tag {name}: unknown data type {brief(data_type)}"))
    rate = props.get("scan rate", "")
    number = parse_number(rate) if rate else None
    if rate and (number is None or number != int(number) or not SCAN_RATE_MS[0] <= number <= SCAN_RATE_MS[1]):
        problems.append(error(path, where, f"tag {name}: invalid scan rate {brief(rate)} "
                              f"(whole milliseconds, {SCAN_RATE_MS[0]}–{SCAN_RATE_MS[1]})"))
    if props.get("scaling", "None") not in ("", "None") and props.get("scaling raw low") is not None \
            and props.get("scaling raw low") == props.get("scaling raw high"):
        problems.append(error(path, where, f"tag {name}: scaling with raw low = raw high"))


class _ConfigApi:
    def __init__(self, path: str) -> None:
        self.path = path
        self.model = KepwareFile("config-api")

    def parse(self, document: Any) -> KepwareFile:
        """A whole project, or a Config API answer for one channel, device, tag group or tag, or a list
        of them (``GET …/channels``, ``…/devices``), as the Config API writes each."""
        if isinstance(document, dict) and isinstance(document.get("project"), dict):
            self._object(document["project"], "project", "", "$.project")
            for key in (key for key in document if key != "project"):
                self.model.elements[f"(file)/{key}"] = Element("file", key, {"value": show(document[key])}, f"$.{key}")
        elif isinstance(document, dict) and "channels" in document:
            self._object(document, "project", "", "$")
        elif isinstance(document, dict) and _kind_of(document):
            self._object(document, _kind_of(document), "", "$")
        elif isinstance(document, list) and document and all(isinstance(item, dict) and _kind_of(item)
                                                                for item in document):
            for index, item in enumerate(document):
                self._object(item, _kind_of(item), "", f"$[{index}]")
        else:
            raise ContentError("not a Kepware project: expected Config API JSON with \"project\" or "
                               "\"channels\", or a Project Maker channel with \"deviceName\" and \"tagPath\"")
        return self.model

    def _object(self, node: dict[str, Any], kind: str, parent: str, where: str, driver: str = "") -> None:
        path, driver = parent, show(node.get(DRIVER_KEY, "")) or driver
        if kind != "project":
            name = node.get(NAME_KEY)
            if not isinstance(name, str) or not name.strip():
                self._error(where, f"{kind} without name ({NAME_KEY}) in {parent or 'the project'}")
                return
            if "." in name or '"' in name:
                self._error(where, f"{kind} name '{name}' contains '.' or '\"'")
            path = f"{parent}.{name}" if parent else name
        props: dict[str, str] = {}
        for key, value in node.items():
            if key == NAME_KEY or (key in CHILDREN[kind] and isinstance(value, list)) or \
                    (key not in dict(LEVELS) and _objects(value)):
                continue
            name = _friendly(key, kind)
            props[name if name not in props else key] = _value(key, value)  # two keys, one UI name: keep both
        self.model.elements[path or "(project)"] = Element(kind, path or "(project)", props, where)
        for key, value in node.items():
            if key not in dict(LEVELS) and isinstance(value, list) and _objects(value):
                self._other(value, key, path or "(project)", f"{where}.{key}")
        if kind == "tag":
            self.model.tags.append(path)
            _check_tag(self.model.problems, self.path, where, path, props)
            problem = address_problem(driver, props.get("address", ""))
            if problem:
                self.model.problems.append(error(self.path, where, f"tag {path}: {problem}", code=BAD_ADDRESS))
        if kind == "channel" and not node.get(DRIVER_KEY):
            self.model.problems.append(finding(self.path, where, "warning",
                                               f"channel {path}: no driver named"))
        for key in CHILDREN[kind]:
            items = node.get(key, [])
            if not isinstance(items, list):
                self._error(f"{where}.{key}", f"\"{key}\" must be a list")
                continue
            seen: set[str] = set()
            for index, item in enumerate(items):
                at, child_kind = f"{where}.{key}[{index}]", dict(LEVELS)[key]
                if not isinstance(item, dict):
                    self._error(at, f"{child_kind} entry must be a JSON object")
                    continue
                name = show(item.get(NAME_KEY, "")).casefold()
                if name and name in seen:
                    self._error(at, f"duplicate {child_kind} name {item.get(NAME_KEY)} in "
                                    f"{path or 'the project'}")
                    continue
                seen.add(name)
                self._object(item, child_kind, path, at, driver)

    def _other(self, items: list[dict[str, Any]], key: str, parent: str, where: str) -> None:
        """Lists outside the tag tree (aliases, client interfaces …): one element per entry."""
        for index, item in enumerate(items):
            name = show(item.get(NAME_KEY, index + 1))
            path = f"{parent}/{key}/{name}"
            props = {k: show(v) for k, v in item.items() if k != NAME_KEY and not _objects(v)}
            self.model.elements[path] = Element(key, path, props, f"{where}[{index}]")
            for sub_key, value in item.items():
                if _objects(value):
                    self._other(value, sub_key, path, f"{where}[{index}].{sub_key}")

    def _error(self, where: str, message: str) -> None:
        self.model.problems.append(error(self.path, where, message))


def _objects(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _kind_of(node: dict[str, Any]) -> str:
    """What one Config API object is, from the keys the API gives each kind."""
    if "servermain.TAG_ADDRESS" in node:
        return "tag"
    if "devices" in node or any(key.startswith("servermain.CHANNEL_") for key in node):
        return "channel"
    if any(key.startswith("servermain.DEVICE_") for key in node):
        return "device"
    if NAME_KEY in node and ("tags" in node or "tag_groups" in node):
        return "tag group"
    return ""


def _friendly(key: str, kind: str = "tag") -> str:
    """Tag properties by the names the tag CSV uses (``scan rate``); channel, device and project
    properties as the Kepware configuration UI shows them (``Device ID``, ``Scan Mode``)."""
    if kind != "tag" and not key.startswith("servermain.TAG_"):
        return ui_name(key)
    if key == "servermain.TAG_SCAN_RATE_MILLISECONDS":
        return "scan rate"
    if key == "servermain.TAG_READ_WRITE_ACCESS":
        return "client access"
    if key == "servermain.TAG_SCALING_TYPE":
        return "scaling"
    if key == "common.ALLTYPES_DESCRIPTION":
        return "description"
    if key == "servermain.MULTIPLE_TYPES_DEVICE_DRIVER":
        return "driver"
    if key.startswith("servermain.TAG_"):
        return key.removeprefix("servermain.TAG_").lower().replace("_", " ")
    return key


def _value(key: str, value: Any) -> str:
    """Codes shown by name where Kepware documents them (data type 8 → Float)."""
    table = {"servermain.TAG_DATA_TYPE": DATA_TYPES, "servermain.TAG_SCALING_TYPE": SCALING,
             "servermain.TAG_READ_WRITE_ACCESS": ACCESS,
             "servermain.TAG_SCALING_SCALED_DATA_TYPE": DATA_TYPES}
    if key in table and isinstance(value, int) and not isinstance(value, bool):
        return table[key].get(value, str(value))
    return ui_value(key, value) or show(value)
