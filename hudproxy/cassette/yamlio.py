"""YAML for cassettes: a safe loader that still reads older vcrpy tags, and a dumper that keeps bodies readable."""

from __future__ import annotations

import yaml

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class CassetteLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML plus the harmless python/str and python/tuple tags older vcrpy cassettes contain."""


CassetteLoader.add_constructor("tag:yaml.org,2002:python/str", lambda loader, node: loader.construct_scalar(node))
CassetteLoader.add_constructor("tag:yaml.org,2002:python/unicode", lambda loader, node: loader.construct_scalar(node))
CassetteLoader.add_constructor(
    "tag:yaml.org,2002:python/tuple", lambda loader, node: list(loader.construct_sequence(node))
)


class CassetteDumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Multi-line text as block literals so bodies read like the response did."""


def _represent_str(dumper: yaml.BaseDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data and len(data) < 200_000 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


CassetteDumper.add_representer(str, _represent_str)
