"""The per-exchange scrubbing context: hides values, finds secrets in free text, and remembers what it hid.

A `Scrubber` lives for one request and its response. Every value it hides is remembered, so the same value is
hidden wherever it reappears (echo scrubbing: the upstream repeating a request's `api_key` in a body, a link or
a `Location`). Text is scanned by shape as well as by name: JWTs, `Bearer`/`Basic` credentials, `name=value`
pairs in URLs, fragments and form-like text, `"name": "value"` pairs in streamed JSON (SSE, NDJSON), URL
userinfo, and well-known vendor key prefixes. Only the secret spans change; all other bytes stay.

`for_matching=True` gives the form matching compares: every secret, live or already a placeholder, becomes
`SCRUBBED:<rule>` (its kind), so a recording still matches a request carrying a new secret of the same kind.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus, unquote_plus

from hudproxy.scrub.names import normalise
from hudproxy.scrub.placeholder import PLACEHOLDER, hashed, is_placeholder, kind
from hudproxy.scrub.policy import ScrubPolicy

MIN_ECHO = 6  # shorter values are hidden where they sit by name, but not searched for in other text

_NOT_PH = rf"(?!{PLACEHOLDER})"
_BASE = (
    rf"(?P<ph>{PLACEHOLDER}:(?P<phrule>[a-z0-9]+):[0-9a-f]{{8}})",
    rf"(?P<bpre>\b[Bb]earer\s+){_NOT_PH}(?P<bearer>[A-Za-z0-9._~+/=-]{{8,}})",
    rf"(?P<bapre>\b[Bb]asic\s+){_NOT_PH}(?P<basic>[A-Za-z0-9+/]{{6,}}={{0,2}})",
    r"(?P<jwt>\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2})",
    rf"(?P<upre>\b[a-zA-Z][a-zA-Z0-9+.-]*://){_NOT_PH}(?P<userinfo>[^/\s@\"'<>?#\\]+)@",
    r"(?P<vendor>\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}|(?:AKIA|ASIA)[0-9A-Z]{16})\b)",
    r"(?P<ppre>(?<![^?&#;\s\"'])(?P<pname>[A-Za-z0-9_.%\[\]-]{1,64})=)(?P<pval>[^&\s\"'#<>\\]+)",
    r"(?P<jepre>\\\"(?P<jename>[A-Za-z0-9_.$-]{1,64})\\\"\s*:\s*\\\")(?P<jeval>[^\"\\]*)(?=\\\")",
)
_PLAIN_PAIR = r"(?P<jpre>\"(?P<jname>[A-Za-z0-9_.$-]{1,64})\"\s*:\s*\")(?P<jval>[^\"\\]*)(?=\")"
# Raw JSON text: its own fields are judged on the parsed data, so only JSON inside its strings is read as pairs.
IN_JSON = re.compile("|".join(_BASE))
# Free text (SSE and NDJSON lines, plain strings, header values): `"name": "value"` pairs too.
IN_TEXT = re.compile("|".join((*_BASE, _PLAIN_PAIR)))


def rule_of(name: str) -> str:
    return normalise(name) or "secret"


class Scrubber:
    """What one exchange hid (value -> placeholder), and the text scanner that hides the rest."""

    def __init__(self, policy: ScrubPolicy, for_matching: bool = False) -> None:
        self.policy = policy
        self.for_matching = for_matching
        self.hidden: dict[str, str] = {}  # each secret value -> the placeholder it got where first seen
        self._echo: tuple[int, re.Pattern[str] | None, dict[str, str]] = (0, None, {})

    def hide(self, value: str, rule: str) -> str:
        """The placeholder for `value` (a secret by its name or shape); an existing placeholder stays."""
        if self.for_matching:
            if value and not is_placeholder(value):
                self.hidden.setdefault(value, kind(rule))
            return kind(rule)
        if not value or is_placeholder(value):
            return value
        placeholder = hashed(value, rule, self.policy.key)
        self.hidden.setdefault(value, placeholder)
        return placeholder

    def remember(self, value: str, rule: str) -> None:
        """A secret to hide wherever it appears, without a place of its own (a Basic password)."""
        if value and not is_placeholder(value) and value not in self.hidden:
            self.hidden[value] = kind(rule) if self.for_matching else hashed(value, rule, self.policy.key)

    # ------------------------------------------------------------------ text

    def text(self, text: str, in_json: bool = False) -> str:
        """`text` with every secret span found by shape, by name or by echo replaced; other bytes unchanged."""
        if not text or not self.policy.enabled:
            return text
        pattern = IN_JSON if in_json else IN_TEXT
        out = pattern.sub(self._replace, text)
        return self.echo(out)

    def echo(self, text: str) -> str:
        """Replace every remembered secret (and its URL- or JSON-escaped forms) found in `text`."""
        pattern, forms = self._echo_pattern()
        if pattern is None:
            return text
        return pattern.sub(lambda m: forms[m.group(0)], text)

    def _echo_pattern(self) -> tuple[re.Pattern[str] | None, dict[str, str]]:
        size, pattern, forms = self._echo
        if size == len(self.hidden):
            return pattern, forms
        forms = {}
        for value, placeholder in self.hidden.items():
            if len(value) < MIN_ECHO:
                continue
            for form in {value, quote(value, safe=""), quote_plus(value), value.replace("/", "\\/")}:
                forms.setdefault(form, placeholder)
        ordered = sorted(forms, key=len, reverse=True)  # the longest form wins where one contains another
        pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._echo = (len(self.hidden), pattern, forms)
        return pattern, forms

    def _replace(self, m: re.Match[str]) -> str:
        return _HANDLERS[m.lastgroup or ""](self, m)  # each alternative's last group names it

    def _placeholder(self, m: re.Match[str]) -> str:
        return kind(m.group("phrule")) if self.for_matching else m.group(0)

    def _bearer(self, m: re.Match[str]) -> str:
        return m.group("bpre") + self.hide(m.group("bearer"), "bearer")

    def _basic(self, m: re.Match[str]) -> str:
        encoded = m.group("basic")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return m.group(0)
        if ":" not in decoded:
            return m.group(0)
        self.remember(decoded, "basic")
        self.remember(decoded.partition(":")[2], "basic")
        return m.group("bapre") + self.hide(encoded, "basic")

    def _jwt(self, m: re.Match[str]) -> str:
        return self.hide(m.group("jwt"), "jwt")

    def _userinfo(self, m: re.Match[str]) -> str:
        userinfo = m.group("userinfo")
        password = userinfo.partition(":")[2]
        if password:
            self.remember(password, "userinfo")
        return m.group("upre") + self.hide(userinfo, "userinfo") + "@"

    def _vendor(self, m: re.Match[str]) -> str:
        return self.hide(m.group("vendor"), "vendorkey")

    def _pair(self, m: re.Match[str], prefix: str, name: str, value: str, decode: bool) -> str:
        plain = unquote_plus(name) if decode else name
        if self.policy.is_secret_form_field(plain):
            return m.group(prefix) + self.hide(unquote_plus(value) if decode else value, rule_of(plain))
        return m.group(prefix) + IN_TEXT.sub(self._replace, value)  # a JWT or placeholder inside a plain value

    def _param(self, m: re.Match[str]) -> str:
        return self._pair(m, "ppre", m.group("pname"), m.group("pval"), True)

    def _json_pair(self, m: re.Match[str]) -> str:
        return self._pair(m, "jpre", m.group("jname"), m.group("jval"), False)

    def _escaped_pair(self, m: re.Match[str]) -> str:
        return self._pair(m, "jepre", m.group("jename"), m.group("jeval"), False)


_HANDLERS: dict[str, Callable[[Scrubber, re.Match[str]], str]] = {
    "ph": Scrubber._placeholder,
    "bearer": Scrubber._bearer,
    "basic": Scrubber._basic,
    "jwt": Scrubber._jwt,
    "userinfo": Scrubber._userinfo,
    "vendor": Scrubber._vendor,
    "pval": Scrubber._param,
    "jval": Scrubber._json_pair,
    "jeval": Scrubber._escaped_pair,
}
