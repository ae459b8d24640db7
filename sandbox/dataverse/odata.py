"""OData pieces of the sandbox: resource paths, keys, Prefer, `$filter`, paging cookies and
delta tokens in the shapes Dataverse uses.

Paging cookie (PAD `webapi/query/page-results.md`, sample 8a of the reference): the nextLink
carries `$skiptoken=<cookie pagenumber="2" pagingcookie="..." istracking="False" />`
URL-encoded once (`%3C`, `%20`, `%22`; `=` and `/` left as they are), and `pagingcookie` is
itself `<cookie page="1"><contactid last="{GUID}" first="{GUID}" /></cookie>` percent-encoded
with lower-case hex beforehand, so it shows as `%253ccookie%2520page...` in the link.

Delta token (PAD `use-change-tracking-...md`): `<version>!<MM/dd/yyyy HH:mm:ss>` encoded with
lower-case hex (`919042%2108%2f22%2f2017%2008%3a10%3a44`).
"""

from __future__ import annotations

import calendar
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


class ODataError(Exception):
    """A request the sandbox refuses: becomes `{"error":{"code","message"}}`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str, code: str = "0x0") -> ODataError:
    return ODataError(400, code, message)


QUERY_ERROR = "0x80060888"  # the code Dataverse gives query-parsing errors


def unsupported(what: str) -> ODataError:
    """Something Dataverse does that the sandbox refuses rather than answer wrongly."""
    return ODataError(
        400, QUERY_ERROR, f"{what} is not simulated by the sandbox (see sandbox/README.md)."
    )


# Encoding -------------------------------------------------------------------------------------


def lower_quote(text: str) -> str:
    """Percent-encode all but [A-Za-z0-9-_.] with lower-case hex (what the service does)."""
    out: list[str] = []
    for char in text:
        if char in _UNRESERVED:
            out.append(char)
        else:
            out.extend(f"%{byte:02x}" for byte in char.encode("utf-8"))
    return "".join(out)


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# Paging cookies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PagingCookie:
    page: int  # the page the cookie describes (the next request asks for page + 1)
    attributes: dict[str, tuple[str, str]]  # column -> (last, first), in order
    extra: dict[str, str]  # sandbox-only attributes (change tracking position)


def inner_cookie_xml(cookie: PagingCookie) -> str:
    extra = "".join(f' {name}="{value}"' for name, value in cookie.extra.items())
    columns = "".join(
        f'<{name} last="{_xml_attr(last)}" first="{_xml_attr(first)}" />'
        for name, (last, first) in cookie.attributes.items()
    )
    return f'<cookie page="{cookie.page}"{extra}>{columns}</cookie>'


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def braced(guid: str) -> str:
    return "{" + guid.upper() + "}"


def skiptoken_cookie(cookie: PagingCookie, *, tracking: bool) -> str:
    """`<cookie pagenumber="n" pagingcookie="<inner, lower-case encoded>" istracking=... />`"""
    inner = lower_quote(inner_cookie_xml(cookie))
    flag = "True" if tracking else "False"
    return f'<cookie pagenumber="{cookie.page + 1}" pagingcookie="{inner}" istracking="{flag}" />'


def skiptoken_param(cookie: PagingCookie, *, tracking: bool) -> str:
    return quote(skiptoken_cookie(cookie, tracking=tracking), safe="=/")


def fetchxml_cookie_annotation(cookie: PagingCookie) -> str:
    """`@Microsoft.Dynamics.CRM.fetchxmlpagingcookie`: the pagingcookie encoded twice."""
    inner = quote(lower_quote(inner_cookie_xml(cookie)), safe="")
    return f'<cookie pagenumber="{cookie.page + 1}" pagingcookie="{inner}" istracking="False" />'


def parse_inner_cookie(xml: str) -> PagingCookie:
    try:
        element = ET.fromstring(xml)
    except ET.ParseError:
        raise bad_request("The paging cookie is not valid.", "0x80040203") from None
    if element.tag != "cookie":
        raise bad_request("The paging cookie is not valid.", "0x80040203")
    extra = {k: v for k, v in element.attrib.items() if k != "page"}
    columns = {child.tag: (child.get("last", ""), child.get("first", "")) for child in element}
    try:
        page = int(element.get("page", "1"))
    except ValueError:
        raise bad_request("The paging cookie is not valid.", "0x80040203") from None
    return PagingCookie(page, columns, extra)


def parse_skiptoken(value: str) -> PagingCookie:
    """The `$skiptoken` query value (already URL-decoded once by the query parser)."""
    try:
        outer = ET.fromstring(value)
    except ET.ParseError:
        raise bad_request("The $skiptoken value is not valid.", "0x80040203") from None
    inner = outer.get("pagingcookie")
    if outer.tag != "cookie" or inner is None:
        raise bad_request("The $skiptoken value is not valid.", "0x80040203")
    return parse_inner_cookie(unquote(inner))


# Delta tokens ---------------------------------------------------------------------------------


def delta_token(version: int, epoch: float) -> str:
    return f"{version}!{time.strftime('%m/%d/%Y %H:%M:%S', time.gmtime(epoch))}"


def delta_token_param(token: str) -> str:
    return lower_quote(token)


def parse_delta_token(token: str) -> tuple[int, float] | None:
    """(version, issued epoch) or None if it is not a token this service issued."""
    version, found, stamp = token.partition("!")
    if not found or not version.isdigit():
        return None
    try:
        parsed = time.strptime(stamp, "%m/%d/%Y %H:%M:%S")
    except ValueError:
        return None
    return int(version), float(calendar.timegm(parsed))


# Prefer ---------------------------------------------------------------------------------------


def preferences(header: str | None) -> dict[str, str]:
    """`Prefer: a, b=1, c="x,y"` -> {"a": "", "b": "1", "c": "x,y"} (names lower-cased)."""
    out: dict[str, str] = {}
    if not header:
        return out
    for item in split_top_level(header, ",", '"'):
        name, _, value = item.strip().partition("=")
        if name.strip():
            out[name.strip().lower()] = value.strip().strip('"')
    return out


def split_top_level(text: str, separator: str, quote_char: str = "'") -> list[str]:
    """`text` split at `separator`s outside quotes and outside parentheses (an option list
    inside `$expand=x($select=a,b)`, a comma inside a quoted key value)."""
    parts: list[str] = []
    current: list[str] = []
    inside = False
    depth = 0
    for char in text:
        if char == quote_char:
            inside = not inside
        elif not inside:
            depth += (char == "(") - (char == ")")
        if char == separator and not inside and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


# Resource paths -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    name: str
    key: str | dict[str, Any] | None = None  # GUID (lower-case) or alternate key columns
    raw_key: str | None = None


def parse_literal(text: str, aliases: Mapping[str, str] | None = None) -> Any:
    text = text.strip()
    if text.startswith("@"):
        # A parameter alias (OData URL conventions 5.1.1.13.1): its value is in the query
        # string, as a literal or as JSON for a complex or entity parameter.
        if aliases is None or text not in aliases:
            raise bad_request(f"The parameter alias '{text}' has no value in the query string.")
        value = aliases[text]
        try:
            return parse_literal(value)
        except ODataError:
            return value
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if text == "null":
        return None
    if text in ("true", "false"):
        return text == "true"
    if GUID.match(text):
        return text.lower()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise bad_request(f"Syntax error: '{text}' is not a literal.") from None


def parse_key(text: str, aliases: Mapping[str, str] | None = None) -> str | dict[str, Any]:
    text = text.strip()
    if GUID.match(text):
        return text.lower()
    if text.startswith("{") and text.endswith("}") and GUID.match(text[1:-1]):
        return text[1:-1].lower()
    key: dict[str, Any] = {}
    for part in split_top_level(text, ","):
        name, found, value = part.partition("=")
        if not found or not name.strip():
            raise bad_request(
                f"Bad Request - Error in query syntax: the key '{text}' is not valid."
            )
        key[name.strip()] = parse_literal(value, aliases)
    return key


def parse_path(raw: str, aliases: Mapping[str, str] | None = None) -> list[Segment]:
    """Segments of a resource path (after `/api/data/v9.2/`), still percent-encoded;
    `aliases` are the query's `@name=value` parameter aliases."""
    segments: list[Segment] = []
    for raw_segment in raw.split("/"):
        segment = unquote(raw_segment)
        if not segment:
            continue
        name, found, rest = segment.partition("(")
        if not found:
            segments.append(Segment(name))
            continue
        if not rest.endswith(")"):
            raise bad_request(f"Bad Request - Error in query syntax: '{segment}'.")
        inner = rest[:-1]
        segments.append(Segment(name, parse_key(inner, aliases) if inner else None, inner))
    return segments


# $filter --------------------------------------------------------------------------------------

Getter = Callable[[str], Any]
Predicate = Callable[[Getter], bool]
_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(\()|(\))|(,)|([^\s(),']+))")
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise bad_request(f"Syntax error at position {position} in '{text}'.")
        tokens.append(next(g for g in match.groups() if g is not None))
        position = match.end()
    return tokens


def _normal(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("eq", "ne"):
        same = _normal(left) == _normal(right)
        return same if op == "eq" else not same
    if left is None or right is None:
        return False
    try:
        a, b = _normal(left), _normal(right)
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError:
        return False


class FilterParser:
    def __init__(self, text: str, known: Callable[[str], bool]) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.known = known
        self.text = text

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.position != len(self.tokens):
            raise bad_request(f"Syntax error: unexpected '{self.tokens[self.position]}'.")
        return predicate

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise bad_request(f"Syntax error: '{self.text}' ends too early.")
        self.position += 1
        return token

    def _or(self) -> Predicate:
        left = self._and()
        while self._peek() == "or":
            self._take()
            right = self._and()
            left = (lambda a, b: lambda get: a(get) or b(get))(left, right)
        return left

    def _and(self) -> Predicate:
        left = self._not()
        while self._peek() == "and":
            self._take()
            right = self._not()
            left = (lambda a, b: lambda get: a(get) and b(get))(left, right)
        return left

    def _not(self) -> Predicate:
        if self._peek() == "not":
            self._take()
            inner = self._not()
            return lambda get: not inner(get)
        return self._primary()

    def _operand(self) -> Callable[[Getter], Any]:
        token = self._take()
        if token.startswith("'") or token in ("null", "true", "false") or GUID.match(token):
            value = parse_literal(token)
            return lambda get: value
        if re.match(r"^-?\d", token):
            value = parse_literal(token) if not re.match(r"^\d{4}-\d\d-\d\d", token) else token
            return lambda get: value
        if not self.known(token):
            raise bad_request(f"Could not find a property named '{token}'.")
        return lambda get: get(token)

    def _primary(self) -> Predicate:
        token = self._peek()
        if token == "(":
            self._take()
            inner = self._or()
            if self._take() != ")":
                raise bad_request("Syntax error: ')' expected.")
            return inner
        if token in _FUNCTIONS:
            name = self._take()
            if self._take() != "(":
                raise bad_request(f"Syntax error: '(' expected after {name}.")
            subject = self._operand()
            if self._take() != ",":
                raise bad_request(f"Syntax error: ',' expected in {name}.")
            argument = self._operand()
            if self._take() != ")":
                raise bad_request(f"Syntax error: ')' expected after {name}.")

            def call(get: Getter) -> bool:
                value, wanted = subject(get), argument(get)
                if not isinstance(value, str) or not isinstance(wanted, str):
                    return False
                value, wanted = value.lower(), wanted.lower()
                if name == "contains":
                    return wanted in value
                if name == "startswith":
                    return value.startswith(wanted)
                return value.endswith(wanted)

            return call
        left = self._operand()
        op = self._take()
        if op not in _COMPARISONS:
            raise bad_request(f"Syntax error: '{op}' is not a comparison operator.")
        right = self._operand()
        return lambda get: _compare(op, left(get), right(get))


def parse_filter(text: str, known: Callable[[str], bool]) -> Predicate:
    return FilterParser(text, known).parse()


def new_guid(rng: Any) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
