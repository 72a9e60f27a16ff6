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
import functools
import re
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus, unquote_plus

from hudproxy.scrub.names import normalise
from hudproxy.scrub.placeholder import PLACEHOLDER, hashed, is_placeholder, kind
from hudproxy.scrub.policy import ScrubPolicy

MIN_ECHO = 6  # shorter values are hidden where they sit by name, but not searched for in other text

_NOT_PH = rf"(?!{PLACEHOLDER})"
# One pattern per shape, each starting with a literal or a small set so the regex engine skips ahead in C, and
# each run only when its trigger (a plain substring test) is in the text: prose with no `=`, `eyJ` or `://` costs
# a few substring scans, not a regex attempt per character.
_PASSES: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("userinfo", ("://",), re.compile(rf"://{_NOT_PH}(?P<userinfo>[^/\s@\"'<>?#\\]+)@")),
    ("jwt", ("eyJ",), re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2}")),
    (
        "vendor",
        ("sk-", "k_live_", "k_test_", "hp_", "ho_", "hu_", "hs_", "hr_", "github_pat_", "xox", "AIza", "AKIA", "ASIA"),
        re.compile(
            r"(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{30,}"
            r"|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}"
            r"|A(?:KIA|SIA)[0-9A-Z]{16})(?![A-Za-z0-9])"
        ),
    ),
    ("bearer", ("earer",), re.compile(rf"(?P<pre>[Bb]earer\s+){_NOT_PH}(?P<value>[A-Za-z0-9._~+/=-]{{8,}})")),
    ("basic", ("asic",), re.compile(rf"(?P<pre>[Bb]asic\s+){_NOT_PH}(?P<value>[A-Za-z0-9+/]{{6,}}={{0,2}})")),
    (
        "param",
        ("=",),
        # the name follows a delimiter, or `\n` / `\t` / `\r` as raw JSON text writes a line break
        re.compile(r"(?P<pre>(?:[?&#;\s\"']|\\[nrt])(?P<name>[A-Za-z0-9_.%\[\]-]{1,64})=)(?P<value>[^&\s\"'#<>\\]+)"),
    ),
    (
        "escaped_pair",
        ('\\"',),
        re.compile(r"(?P<pre>\\\"(?P<name>[A-Za-z0-9_.$-]{1,64})\\\"\s*:\s*\\\")(?P<value>[^\"\\]*)(?=\\\")"),
    ),
)
_PLAIN_PAIR = (
    "pair",
    ('"',),
    re.compile(r"(?P<pre>\"(?P<name>[A-Za-z0-9_.$-]{1,64})\"\s*:\s*\")(?P<value>[^\"\\]*)(?=\")"),
)
_PLACEHOLDERS = ("placeholder", (f"{PLACEHOLDER}:",), re.compile(rf"{PLACEHOLDER}:(?P<rule>[a-z0-9]+):[0-9a-f]{{8}}"))
# Raw JSON text: its own fields are judged on the parsed data, so only JSON inside its strings is read as pairs.
IN_JSON = _PASSES
# Free text (SSE and NDJSON lines, plain strings, header values): `"name": "value"` pairs too.
IN_TEXT = (*_PASSES, _PLAIN_PAIR)
_NEEDS_NO_QUOTING = re.compile(r"[A-Za-z0-9_.~-]*")


class _CleanTexts:
    """Texts known to hold no secret shape (the same prompts, ids and prose come back request after request), so
    matching scans each once; bounded by the characters it keeps alive."""

    def __init__(self, limit: int = 2_000_000, longest: int = 16_384) -> None:
        self.limit = limit
        self.longest = longest
        self.size = 0
        self.keys: set[tuple[bool, bool, str]] = set()

    def __contains__(self, key: tuple[bool, bool, str]) -> bool:
        return key in self.keys

    def add(self, key: tuple[bool, bool, str]) -> None:
        if len(key[2]) > self.longest:
            return  # a large body is scanned again rather than kept alive (an upload must not outlive its request)
        self.size += len(key[2]) + 64
        if self.size > self.limit:
            self.keys.clear()
            self.size = len(key[2]) + 64
        self.keys.add(key)


_CLEAN = _CleanTexts()
LARGE_TEXT = 1 << 20  # scanned in pieces above this
PIECE = 1 << 18


def pieces(text: str) -> Iterator[str]:
    """A large text in pieces of about PIECE characters, cut after a line break (else a space), so scanning a
    48 MB upload lets other threads (the event loop) run between pieces: one regex call over the whole text holds
    the GIL for seconds. The shapes scrubbed never span a line break, nor (but for prose) a space."""
    start, size = 0, len(text)
    while start < size:
        end = min(start + PIECE, size)
        if end < size:
            cut = text.rfind("\n", start, end)
            if cut <= start:
                cut = text.rfind(" ", start, end)
            if cut > start:
                end = cut + 1
        yield text[start:end]
        start = end


@functools.lru_cache(maxsize=4096)
def rule_of(name: str) -> str:
    return normalise(name) or "secret"


class Scrubber:
    """What one exchange hid (value -> placeholder), and the text scanner that hides the rest."""

    def __init__(self, policy: ScrubPolicy, for_matching: bool = False) -> None:
        self.policy = policy
        self.for_matching = for_matching
        self.hidden: dict[str, str] = {}  # each secret value -> the placeholder it got where first seen
        self._echo: tuple[int, dict[str, str]] = (0, {})

    def seed(self, other: Scrubber) -> None:
        """Start from what `other` hid (and its echo forms, already built)."""
        if other.hidden:
            other._echo_forms()
        self.hidden.update(other.hidden)
        self._echo = other._echo

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
        if len(text) > LARGE_TEXT:
            return "".join(self.text(piece, in_json) for piece in pieces(text))
        key = (in_json, self.for_matching, text)
        if key in _CLEAN:
            return self.echo(text)
        out = self._pass(_PLACEHOLDERS, text) if self.for_matching else text
        for shape in IN_JSON if in_json else IN_TEXT:
            out = self._pass(shape, out)
        if out == text:
            _CLEAN.add(key)
        return self.echo(out)

    def _pass(self, shape: tuple[str, tuple[str, ...], re.Pattern[str]], text: str) -> str:
        name, triggers, pattern = shape
        for trigger in triggers:
            if trigger in text:
                break
        else:
            return text
        handler = _HANDLERS[name]
        if name == "param":  # a name=value pair may start the text
            return pattern.sub(lambda m: handler(self, m), "\n" + text)[1:]
        return pattern.sub(lambda m: handler(self, m), text)

    def echo(self, text: str) -> str:
        """Replace every remembered secret (and its URL- or JSON-escaped forms) found in `text`."""
        forms = self._echo_forms() if self.hidden else {}
        present = [form for form in forms if form in text]
        if not present:
            return text
        pattern = re.compile("|".join(map(re.escape, present)))  # longest first: `forms` is ordered so
        return pattern.sub(lambda m: forms[m.group(0)], text)

    def _echo_forms(self) -> dict[str, str]:
        size, forms = self._echo
        if size == len(self.hidden):
            return forms
        found: dict[str, str] = {}
        for value, placeholder in self.hidden.items():
            if len(value) < MIN_ECHO:
                continue
            found.setdefault(value, placeholder)
            if _NEEDS_NO_QUOTING.fullmatch(value) is None:
                for form in (quote(value, safe=""), quote_plus(value), value.replace("/", "\\/")):
                    found.setdefault(form, placeholder)
        forms = {form: found[form] for form in sorted(found, key=len, reverse=True)}
        self._echo = (len(self.hidden), forms)
        return forms

    def _placeholder(self, m: re.Match[str]) -> str:
        return kind(m.group("rule"))

    def _bearer(self, m: re.Match[str]) -> str:
        value = m.group("value")
        if m.start() and m.string[m.start() - 1].isalnum():
            return m.group(0)  # `forbearer ...`: not a scheme
        if value.isalpha() and len(value) < 24:
            return m.group(0)  # prose ("Bearer authentication"), not a token
        return m.group("pre") + self.hide(value, "bearer")

    def _basic(self, m: re.Match[str]) -> str:
        encoded = m.group("value")
        if m.start() and m.string[m.start() - 1].isalnum():
            return m.group(0)
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return m.group(0)
        if ":" not in decoded:
            return m.group(0)
        self.remember(decoded, "basic")
        self.remember(decoded.partition(":")[2], "basic")
        return m.group("pre") + self.hide(encoded, "basic")

    def _jwt(self, m: re.Match[str]) -> str:
        return self.hide(m.group(0), "jwt")

    def _userinfo(self, m: re.Match[str]) -> str:
        userinfo = m.group("userinfo")
        if ":" not in userinfo and len(userinfo) < 20:
            return m.group(0)  # a user name alone (`ssh://git@github.com`) is not a secret; a token-long one may be
        password = userinfo.partition(":")[2]
        if password:
            self.remember(password, "userinfo")
        return "://" + self.hide(userinfo, "userinfo") + "@"

    def _vendor(self, m: re.Match[str]) -> str:
        if m.start() and m.string[m.start() - 1].isalnum():
            return m.group(0)  # `task-...` is not `sk-...`
        return self.hide(m.group(0), "vendorkey")

    def _pair(self, m: re.Match[str], decode: bool) -> str:
        """`name=value` judged as a query or form field is; `"name": "value"` as a JSON field is."""
        name, value = m.group("name"), m.group("value")
        plain = unquote_plus(name) if decode else name
        if (self.policy.is_secret_form_field if decode else self.policy.is_secret_field)(plain):
            return m.group("pre") + self.hide(unquote_plus(value) if decode else value, rule_of(plain))
        return m.group(0)

    def _param(self, m: re.Match[str]) -> str:
        return self._pair(m, True)

    def _json_pair(self, m: re.Match[str]) -> str:
        return self._pair(m, False)


_HANDLERS: dict[str, Callable[[Scrubber, re.Match[str]], str]] = {
    "placeholder": Scrubber._placeholder,
    "userinfo": Scrubber._userinfo,
    "jwt": Scrubber._jwt,
    "vendor": Scrubber._vendor,
    "bearer": Scrubber._bearer,
    "basic": Scrubber._basic,
    "param": Scrubber._param,
    "escaped_pair": Scrubber._json_pair,
    "pair": Scrubber._json_pair,
}
