"""Safe, forgiving XML parsing for the chargers' XML protocols.

Standard library only. The parser is expat, set up so that:

* any ``<!DOCTYPE`` is refused the moment expat meets it, before a single entity is
  declared, so an entity-expansion bomb ("billion laughs") and external entities never
  get a chance to run;
* documents bigger than :data:`MAX_XML_BYTES` are refused before parsing;
* anything wrong with a document, an unknown declared encoding included, raises
  :class:`XmlError` and nothing else;
* tag names are folded to lower case before parsing, because a published Circontrol
  sample closes ``<chargeInfo>`` with ``</ChargeInfo>``. Look elements up by their
  lower-case name.
"""

import re
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

__all__ = ["MAX_XML_BYTES", "XmlError", "child_text", "parse_xml"]

MAX_XML_BYTES = 1024 * 1024
"""The largest document accepted (1 MiB); the largest Circontrol capture is 26 KiB."""

# An opening or closing tag's name; "<!" (comments, DOCTYPE) and "<?" are left alone.
_TAG_NAME = re.compile(rb"<(/?)([A-Za-z_][A-Za-z0-9_.:-]*)")


class XmlError(ValueError):
    """The document is not XML this package accepts."""


def _lower_tag(match: re.Match[bytes]) -> bytes:
    """Return the matched tag opening with its name in lower case."""
    return b"<" + match[1] + match[2].lower()


def _refuse_doctype(*_args: object) -> None:
    """Refuse a document type declaration, where entities would be declared."""
    msg = "XML with a document type declaration is refused (entities are not expanded)"
    raise XmlError(msg)


def parse_xml(data: bytes) -> Element:
    """Parse a document into an element tree whose tag names are all lower case.

    Raise :class:`XmlError` for a document that is too big, is not well-formed, or has a
    DOCTYPE.
    """
    if len(data) > MAX_XML_BYTES:
        msg = f"XML document of {len(data)} bytes is larger than {MAX_XML_BYTES} bytes"
        raise XmlError(msg)
    data = _TAG_NAME.sub(_lower_tag, data)
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)  # noqa: FBT003 - expat's signature
    except expat.ExpatError as err:
        msg = f"Invalid XML: {expat.ErrorString(err.code)} at line {err.lineno}"
        raise XmlError(msg) from None
    except XmlError:
        raise
    except LookupError, ValueError:
        # expat asks Python's codecs for an encoding it does not know itself:
        # an unknown name is a LookupError, a multi-byte one a ValueError.
        msg = "Invalid XML: the declared encoding is not supported"
        raise XmlError(msg) from None
    return builder.close()


def child_text(element: Element, name: str) -> str | None:
    """Return the stripped text of the first child called ``name`` (any case)."""
    child = element.find(name.lower())
    if child is None:
        return None
    return (child.text or "").strip()
