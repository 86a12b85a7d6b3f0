"""XML parsing for the recipe and PLC formats, only through defusedxml.

Entity declarations and external references are refused (XXE, entity bombs), nesting is capped
while parsing, and every element's source line is kept so findings can say ``line N``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from defusedxml import DefusedXmlException  # type: ignore[import-untyped, unused-ignore]
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped, unused-ignore]

from gatekeeper.formats._common import MAX_DEPTH, ContentError, check_bytes

_POSITION_SUFFIX = re.compile(r":\s*line \d+, column \d+$")


@dataclass
class XmlDoc:
    """A parsed document: the root and the 1-based source line of each element."""

    root: ET.Element
    lines: dict[int, int] = field(default_factory=dict)

    def line(self, element: ET.Element) -> int:
        return self.lines.get(id(element), 0)

    def where(self, element: ET.Element) -> str:
        line = self.line(element)
        return f"line {line or 1}"


class _TooDeep(Exception):
    pass


class _Forbidden(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


class _Parser(DefusedXMLParser):  # type: ignore[misc, unused-ignore]  # defusedxml has no type hints
    """defusedxml's parser plus line numbers, a depth cap and messages that name the attack."""

    def __init__(self) -> None:
        # The C TreeBuilder, as defusedxml's own fromstring uses: the default would be the slow
        # pure-Python one, because defusedxml builds its parser from the pure-Python module.
        super().__init__(target=ET.TreeBuilder(), forbid_dtd=False, forbid_entities=True,
                         forbid_external=True)
        self.lines: dict[int, int] = {}
        self.depth = 0

    def _start(self, tag: str, attr_list: list[str]) -> ET.Element:
        """ElementTree's own ``_start`` (inlined: this runs once per element) plus depth and line."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _TooDeep
        fixname = self._fixname
        attrib = {fixname(attr_list[i]): attr_list[i + 1] for i in range(0, len(attr_list), 2)}
        element: ET.Element = self.target.start(fixname(tag), attrib)
        self.lines[id(element)] = self.parser.CurrentLineNumber
        return element

    def _end(self, tag: str) -> ET.Element:
        self.depth -= 1
        return self.target.end(self._fixname(tag))  # type: ignore[no-any-return]

    def defused_entity_decl(self, name: str, _is_param: Any, value: Any, _base: Any, sysid: str | None,
                            pubid: str | None, _notation: Any) -> None:
        line = self.parser.CurrentLineNumber
        if sysid or pubid:
            raise _Forbidden(f"XML external entities are not allowed (entity '{name}' refers to "
                             f"{sysid or pubid}; nothing was read)", line)
        raise _Forbidden(f"entity expansion is not allowed (the file declares entity '{name}')", line)

    def defused_unparsed_entity_decl(self, name: str, base: Any, sysid: str | None, pubid: str | None,
                                     notation: Any) -> None:
        self.defused_entity_decl(name, False, None, base, sysid, pubid, notation)

    def defused_external_entity_ref_handler(self, _context: Any, _base: Any, sysid: str | None,
                                            pubid: str | None) -> None:
        raise _Forbidden(f"XML external references are not allowed ({sysid or pubid}; nothing was read)",
                         self.parser.CurrentLineNumber)


def parse_xml(data: bytes, what: str) -> XmlDoc:
    """Parse ``data`` as XML or raise :class:`ContentError` with a message an engineer can act on."""
    check_bytes(data, what)
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start and start != b"<" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ContentError(f"not XML: {what} must start with '<' (found {start.decode('latin-1')!r})",
                           "line 1")
    parser = _Parser()
    try:
        parser.feed(data)
        root: ET.Element = parser.close()
    except _Forbidden as exc:
        raise ContentError(exc.message, f"line {exc.line}") from None
    except _TooDeep:
        line = parser.parser.CurrentLineNumber
        raise ContentError(f"XML nesting deeper than {MAX_DEPTH} levels (line {line})",
                           f"line {line}") from None
    except ET.ParseError as exc:
        line, column = exc.position
        message = _POSITION_SUFFIX.sub("", str(exc))
        raise ContentError(f"not well-formed XML: line {line} column {column + 1}: {message}",
                           f"line {line}") from None
    except DefusedXmlException as exc:  # any other defusedxml refusal
        raise ContentError(f"XML construct not allowed: {exc}") from None
    except (ValueError, LookupError) as exc:  # unknown or unsupported declared encoding
        raise ContentError(f"cannot read XML: {exc}") from None
    return XmlDoc(root, parser.lines)


def local(tag: Any) -> str:
    """Local name of ``{namespace}Name``: formats are matched on local names across schema versions."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def text_of(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def child(element: ET.Element, name: str) -> ET.Element | None:
    for sub in element:
        if local(sub.tag) == name:
            return sub
    return None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [sub for sub in element if local(sub.tag) == name]
