"""Named choices (modes) as enums, parsed in one place so every error lists the valid values."""

from __future__ import annotations

import enum
from typing import Self

from hudproxy.errors import ConfigError


class Choice(enum.StrEnum):
    """A StrEnum whose `parse` accepts any case and `-` for `_`, and says what is valid when it fails."""

    @classmethod
    def option_name(cls) -> str:
        return cls.__name__.lower()

    @classmethod
    def valid_label(cls) -> str:
        return "valid values"

    @classmethod
    def parse(cls, value: str | Self) -> Self:
        try:
            return cls(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            valid = ", ".join(member.value for member in cls)
            raise ConfigError(f"unknown {cls.option_name()} {value!r}; {cls.valid_label()}: {valid}.") from None
