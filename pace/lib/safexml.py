"""Reading XML bytes with expat while they stream by, a DTD refused.

Expat reads the encoding from the BOM or the XML declaration as XML says; refusing any
DTD closes entity bombs and external entities as defusedxml's ``forbid_dtd`` does. The
caller's handlers take the elements as they come, so a file never becomes a tree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn
from xml.parsers import expat


class DTDRefusedError(Exception):
    """The XML holds a DTD (``<!DOCTYPE …>``) or declares an entity."""


def _refuse_dtd(*_: Any) -> NoReturn:
    raise DTDRefusedError


def parse_without_dtd(
    raw: bytes,
    *,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    chars: Callable[[str], None],
    xml_decl: Callable[[str | None, str | None, int], None] | None = None,
) -> None:
    """Stream ``raw`` through expat (namespaces joined to local names by a space) into the
    handlers. Raises ``DTDRefusedError`` on a DTD, ``expat.ExpatError`` on XML that is
    not well formed, ``LookupError``/``UnicodeError``/``ValueError`` on an encoding expat
    cannot read; what the handlers raise goes through."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    if xml_decl is not None:
        parser.XmlDeclHandler = xml_decl
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.buffer_text = True
    parser.Parse(raw, True)
