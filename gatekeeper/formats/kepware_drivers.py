"""Kepware driver knowledge (pure): tag address syntax per driver, and property names as the
Kepware configuration UI shows them ("Device ID", "Scan Mode") instead of Config API keys.

Address patterns follow the drivers' manuals for the forms those drivers accept; a driver not
listed here is not checked (no finding without a fact). Each pattern is tested on real addresses.
"""

from __future__ import annotations

import re

from gatekeeper.policy.codes import Code

BAD_ADDRESS = Code.KEPWARE_BAD_ADDRESS
"""Reason code: a tag address the channel's driver cannot accept."""

_SIEMENS_TYPES = ("REAL|LREAL|INT|DINT|SINT|UINT|UDINT|USINT|LINT|ULINT|WORD|DWORD|BYTE|CHAR|BOOL|STRING|DT|DATE|"
                  "TIME|X|B|W|D")
ADDRESS_SYNTAX: dict[str, tuple[re.Pattern[str], str]] = {
    "modbus tcp/ip ethernet": (
        re.compile(r"[0-46]\d{4,5}(\.\d{1,2}[HLhl]?|_[0-9]+)?(\s*\[\d+\](\s*\[\d+\])?)?"),
        "a 5- or 6-digit Modbus address: 0xxxx coils, 1xxxx inputs, 3xxxx input registers, 4xxxx holding "
        "registers (optionally .bit or [array])"),
    "allen-bradley controllogix ethernet": (
        re.compile(r"(Program:[A-Za-z_]\w*\.)?@?[A-Za-z_]\w*(\[\d+(,\d+){0,2}\])?(\.[A-Za-z_]\w*(\[\d+(,\d+){0,2}\])?)*"
                   r"([./]\d{1,2})?(\s*\{\d+(\})?(\{\d+\})?\}?)?", re.I),
        "a Logix tag name such as Motor.Speed, Program:Main.Count[3] or Flags.5"),
    "siemens tcp/ip ethernet": (
        re.compile(rf"(DB\d+\.(DB[XBWD]\d+(\.\d+)?|({_SIEMENS_TYPES})\d+(\.\d+)?)|[IEQAM]([XBWD]|{_SIEMENS_TYPES})?\d+"
                   r"(\.\d+)?|P[IEQA][BWD]\d+|[TCZ]\d+)(\s*\[\d+\](\s*\[\d+\])?)?", re.I),
        "an S7 address such as DB1.DBW0, DB1.DBX0.0, MW10, I0.0 or T1"),
    "bacnet/ip": (
        re.compile(r"[A-Za-z][A-Za-z0-9_]*\.\d+\.[A-Za-z][A-Za-z0-9_]*(\[\d+\])?(\.[A-Za-z0-9_]+)*"),
        "ObjectType.Instance.Property, such as AnalogInput.1.PresentValue"),
    "opc ua client": (
        re.compile(r"((ns=\d+|nsu=[^;]+);)?[sigb]=.+", re.S),
        "an OPC UA node id such as ns=2;s=Line1.Speed or ns=2;i=1042"),
    "simulator": (
        re.compile(r"([BKRS]\d{1,4}(\.\d{1,2})?(\s*\[\d+\](\s*\[\d+\])?)?"
                   r"|(RAMP|RANDOM|SINE|USER)\s*\(.*\))", re.I | re.S),
        "K0000, R0000, B0000 or S000 (optionally .bit or [array]), or RAMP/RANDOM/SINE/USER(…)"),
}
"""Driver name (casefolded, as in ``servermain.MULTIPLE_TYPES_DEVICE_DRIVER``) → (pattern, hint)."""


def address_problem(driver: str, address: str) -> str | None:
    """Why ``address`` is not valid for ``driver``; ``None`` when valid or the driver is not known."""
    syntax = ADDRESS_SYNTAX.get(driver.strip().casefold())
    if syntax is None or not address:
        return None
    pattern, hint = syntax
    if pattern.fullmatch(address.strip()):
        return None
    return f"address {address!r} is not valid for the {driver} driver (expected {hint})"


UI_NAMES = {
    "common.ALLTYPES_DESCRIPTION": "Description",
    "servermain.MULTIPLE_TYPES_DEVICE_DRIVER": "Driver",
    "servermain.PROJECT_TITLE": "Title",
    "servermain.CHANNEL_DIAGNOSTICS_CAPTURE": "Diagnostics Capture",
    "servermain.CHANNEL_UNIQUE_ID": "Channel Unique ID",
    "servermain.CHANNEL_WRITE_OPTIMIZATIONS_METHOD": "Optimization Method",
    "servermain.CHANNEL_WRITE_OPTIMIZATIONS_DUTY_CYCLE": "Duty Cycle",
    "servermain.CHANNEL_NON_NORMALIZED_FLOATING_POINT_HANDLING": "Non-Normalized Float Handling",
    "servermain.DEVICE_MODEL": "Model",
    "servermain.DEVICE_UNIQUE_ID": "Device Unique ID",
    "servermain.DEVICE_ID_FORMAT": "Device ID Format",
    "servermain.DEVICE_ID_STRING": "Device ID",
    "servermain.DEVICE_ID_HEXADECIMAL": "Device ID (hexadecimal)",
    "servermain.DEVICE_ID_DECIMAL": "Device ID (decimal)",
    "servermain.DEVICE_ID_OCTAL": "Device ID (octal)",
    "servermain.DEVICE_DATA_COLLECTION": "Data Collection",
    "servermain.DEVICE_SIMULATED": "Simulated",
    "servermain.DEVICE_SCAN_MODE": "Scan Mode",
    "servermain.DEVICE_SCAN_MODE_RATE_MS": "Scan Mode Rate (ms)",
    "servermain.DEVICE_SCAN_MODE_PROVIDE_INITIAL_UPDATES_FROM_CACHE": "Initial Updates from Cache",
    "servermain.DEVICE_CONNECTION_TIMEOUT_SECONDS": "Connect Timeout (s)",
    "servermain.DEVICE_REQUEST_TIMEOUT_MILLISECONDS": "Request Timeout (ms)",
    "servermain.DEVICE_RETRY_ATTEMPTS": "Attempts Before Timeout",
    "servermain.DEVICE_INTER_REQUEST_DELAY_MILLISECONDS": "Inter-Request Delay (ms)",
    "servermain.DEVICE_AUTO_DEMOTION_ENABLE_ON_COMMUNICATIONS_FAILURES": "Demote on Failure",
    "servermain.DEVICE_AUTO_DEMOTION_DEMOTED_AFTER_SUCCESSIVE_TIMEOUTS": "Timeouts to Demote",
    "servermain.DEVICE_AUTO_DEMOTION_PERIOD_MS": "Demotion Period (ms)",
    "servermain.DEVICE_AUTO_DEMOTION_DISCARD_WRITES": "Discard Requests when Demoted",
    "servermain.DEVICE_TAG_GENERATION_ON_STARTUP": "On Device Startup",
    "servermain.DEVICE_TAG_GENERATION_DUPLICATE_HANDLING": "On Duplicate Tag",
    "servermain.DEVICE_TAG_GENERATION_GROUP": "Parent Group",
    "servermain.DEVICE_TAG_GENERATION_ALLOW_SUB_GROUPS": "Allow Automatically Generated Subgroups",
}
"""Config API keys → the name the Kepware configuration UI shows for the property."""

UI_VALUES = {
    "servermain.DEVICE_SCAN_MODE": {0: "Respect Client-Specified Scan Rate", 1: "Request Data No Faster than Scan Rate",
                                    2: "Request All Data at Scan Rate", 3: "Do Not Scan, Demand Poll Only",
                                    4: "Respect Tag-Specified Scan Rate"},
    "servermain.CHANNEL_WRITE_OPTIMIZATIONS_METHOD": {0: "Write All Values for All Tags",
                                                      1: "Write Only Latest Value for Non-Boolean Tags",
                                                      2: "Write Only Latest Value for All Tags"},
}
"""Enumerated values shown by their UI wording (the code follows in parentheses)."""
_UNIT_SUFFIX = {"MILLISECONDS": "(ms)", "MS": "(ms)", "SECONDS": "(s)", "MINUTES": "(min)"}


def ui_name(key: str) -> str:
    """``servermain.DEVICE_ID_STRING`` → ``Device ID``; a key not in the table is spelt the way the UI
    spells properties (``modbus_ethernet.DEVICE_PORT_NUMBER`` → ``Port Number (modbus_ethernet)``)."""
    if key in UI_NAMES:
        return UI_NAMES[key]
    namespace, _, name = key.rpartition(".")
    if not name.isupper() or not namespace:
        return key
    words = name.split("_")
    if words and words[0] in ("CHANNEL", "DEVICE", "PROJECT"):
        words = words[1:]
    suffix = _UNIT_SUFFIX.get(words[-1]) if words else None
    if suffix:
        words = words[:-1]
    text = " ".join(word if word in ("ID", "IP", "OPC", "UA", "TCP", "UDP") else word.capitalize() for word in words)
    text = f"{text} {suffix}" if suffix else text
    return text if namespace in ("servermain", "common") else f"{text} ({namespace})"


def ui_value(key: str, value: object) -> str | None:
    """The UI wording of an enumerated value, ``None`` when there is none."""
    table = UI_VALUES.get(key)
    if table is None or isinstance(value, bool) or not isinstance(value, int) or value not in table:
        return None
    return f"{table[value]} ({value})"
