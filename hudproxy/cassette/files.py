"""Reading and writing cassette files: YAML by default, JSON by extension; atomic writes; located errors."""

from __future__ import annotations

import base64
import binascii
import gc
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from hudproxy.cassette import compiled
from hudproxy.cassette.compat import upgrade
from hudproxy.cassette.convert import (
    Malformed,
    interaction_from_dict,
    interaction_from_file,
    interaction_to_file,
    mcp_from_dict,
    mcp_to_file,
    recorded_order,
)
from hudproxy.cassette.locate import line_of
from hudproxy.cassette.model import FORMAT_VERSION, Cassette
from hudproxy.cassette.schema import VCR_VERSION, CassetteFile, CassetteMeta
from hudproxy.errors import CassetteError
from hudproxy.interaction.model import Interaction

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


def is_json_path(path: Path) -> bool:
    return path.suffix.lower() == ".json"


# ---------------------------------------------------------------- load


def load_cassette(path: str | Path) -> Cassette:
    """Read and validate a cassette; any problem is a CassetteError naming the file, line and fix."""
    path = Path(path)
    if not path.exists():
        raise CassetteError(f"{path}: no such cassette file (record one with `hudproxy record`).")
    if path.is_dir():
        raise CassetteError(f"{path}: is a directory, expected a .yaml or .json cassette file.")
    text = path.read_bytes()
    with gc_paused():
        cached = compiled.read(text)
        if cached is not None:
            return Cassette(interactions=cached[0], meta=cached[1], path=path)
        cassette = cassette_from_data(path, text, _parse(path, text))
        compiled.write(text, cassette.interactions, cassette.meta)
    return cassette


@contextmanager
def gc_paused() -> Iterator[None]:
    """Building 100,000 interactions triggers many useless GC passes; pausing them halves load time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse(path: Path, text: bytes) -> Any:
    try:
        if is_json_path(path):
            return orjson.loads(text)
        return yaml.load(text, Loader=CassetteLoader)
    except orjson.JSONDecodeError as exc:
        raise CassetteError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CassetteError(f"{where}: not valid YAML: {problem}.") from None
    except UnicodeDecodeError as exc:
        raise CassetteError(f"{path}: not a text file ({exc.reason}).") from None


def cassette_from_data(path: Path, text: bytes, data: Any) -> Cassette:
    if data is None:
        raise CassetteError(f"{path}: the file is empty; expected `version: 1` and `interactions:`.")
    if isinstance(data, list):
        raise CassetteError(f"{path}:1: a pre-1.0 vcrpy cassette (a bare list); re-record it with vcrpy >= 1.0.")
    if not isinstance(data, dict):
        raise CassetteError(f"{path}:1: expected a mapping with `version` and `interactions`.")
    version = data.get("version")
    if version != VCR_VERSION:
        raise CassetteError(
            f"{path}:{line_of(text, ('version',), path)}: unsupported cassette version {version!r}; "
            f"hudproxy reads vcrpy cassette version {VCR_VERSION}."
        )
    data = _upgrade_meta(path, text, data)
    try:
        meta = CassetteMeta.model_validate(data.get("hudproxy") or {}).model_dump(exclude_none=True)
        items = data.get("interactions") or []
        if not isinstance(items, list):
            raise Malformed
        mcp_items = data.get("mcp") or []
        if not isinstance(mcp_items, list):
            raise Malformed
        interactions = _ordered(items, mcp_items)
    except (Malformed, ValidationError):
        interactions, meta = _validated(path, text, data)
    return Cassette(interactions=interactions, meta=meta, path=path)


def _ordered(items: list[Any], mcp_items: list[Any]) -> list[Interaction]:
    http = [(_meta_index(item), interaction_from_dict(item, i)) for i, item in enumerate(items)]
    mcp = [(_meta_index(item), mcp_from_dict(item, len(items) + i)) for i, item in enumerate(mcp_items)]
    return recorded_order(http, mcp)


def _meta_index(item: Any) -> Any:
    meta = item.get("hudproxy") if isinstance(item, dict) else None
    return meta.get("index") if isinstance(meta, dict) else None


def _validated(path: Path, text: bytes, data: dict[str, Any]) -> tuple[list[Interaction], dict[str, Any]]:
    """The slow, precise path: pydantic names the first problem, located to a line."""
    try:
        model = CassetteFile.model_validate(data)
    except ValidationError as exc:
        raise CassetteError(_validation_message(path, text, exc)) from None
    try:
        return _from_model(model)
    except (binascii.Error, ValueError) as exc:
        loc = _first_bad_base64(data)
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "a body"
        raise CassetteError(f"{path}:{line_of(text, loc, path)}: {dotted}: not valid base64 ({exc}).") from None


def _first_bad_base64(data: dict[str, Any]) -> tuple[Any, ...]:
    """Locate the first body whose base64 does not decode (only called on that error path)."""
    for n, item in enumerate(data.get("interactions") or []):
        for part in ("request", "response"):
            body = (item.get(part) or {}).get("body")
            if isinstance(body, dict) and "base64_string" in body and not _decodes(body["base64_string"]):
                return ("interactions", n, part, "body", "base64_string")
        meta = item.get("hudproxy") or {}
        for key in ("wire", "request_wire"):
            wire = meta.get(key)
            if isinstance(wire, dict) and not _decodes(wire.get("base64", "")):
                return ("interactions", n, "hudproxy", key, "base64")
    return ()


def _decodes(value: Any) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return False
    return True


def _from_model(model: CassetteFile) -> tuple[list[Interaction], dict[str, Any]]:
    interactions = (
        _ordered([item.model_dump() for item in model.interactions], [item.model_dump() for item in model.mcp])
        if model.mcp
        else [interaction_from_file(item, i) for i, item in enumerate(model.interactions)]
    )
    meta = model.hudproxy.model_dump(exclude_none=True) if model.hudproxy else {"format": FORMAT_VERSION}
    return interactions, meta


def _upgrade_meta(path: Path, text: bytes, data: dict[str, Any]) -> dict[str, Any]:
    meta = data.get("hudproxy")
    if not isinstance(meta, dict):
        return data
    found = meta.get("format", FORMAT_VERSION)
    where = f"{path}:{line_of(text, ('hudproxy', 'format'), path)}"
    if isinstance(found, int) and found > FORMAT_VERSION:
        raise CassetteError(
            f"{where}: hudproxy cassette format {found} is newer than this hudproxy reads ({FORMAT_VERSION}); "
            "upgrade hudproxy."
        )
    if not isinstance(found, int) or found < 1:
        raise CassetteError(f"{where}: hudproxy cassette format {found!r} is not valid; formats start at 1.")
    return upgrade(data, found)


def _validation_message(path: Path, text: bytes, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    line = line_of(text, loc, path)
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return f"{path}:{line}: {dotted}: {first['msg'].lower()}{more}."


# ---------------------------------------------------------------- save


def cassette_to_data(cassette: Cassette, binary_as_base64: bool) -> dict[str, Any]:
    meta = {"format": FORMAT_VERSION, **{k: v for k, v in cassette.meta.items() if k != "format"}}
    from hudproxy.mcp.exchange import is_mcp

    http = [i for i in cassette.interactions if not is_mcp(i)]
    mcp = [i for i in cassette.interactions if is_mcp(i)]
    # `interactions` comes last so a recorder can append to the file (see cassette/writer.py).
    data: dict[str, Any] = {"version": VCR_VERSION, "hudproxy": meta}
    if mcp:
        data["mcp"] = [mcp_to_file(i) for i in mcp]
    data["interactions"] = [interaction_to_file(i, binary_as_base64) for i in http]
    return data


def dumps_yaml_items(interactions: list[Interaction]) -> bytes:
    """HTTP interactions as YAML sequence items that continue a file whose last key is `interactions:`."""
    items = [interaction_to_file(i, binary_as_base64=False) for i in interactions]
    dumped = yaml.dump(items, Dumper=CassetteDumper, sort_keys=False, allow_unicode=True, width=120)
    return _without_document_end(dumped).encode("utf-8")


def dumps_cassette(cassette: Cassette, json_format: bool) -> bytes:
    data = cassette_to_data(cassette, binary_as_base64=json_format)
    if json_format:
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    dumped = yaml.dump(data, Dumper=CassetteDumper, sort_keys=False, allow_unicode=True, width=120)
    return _without_document_end(dumped).encode("utf-8")


def _without_document_end(dumped: str) -> str:
    """PyYAML ends a document whose last scalar keeps trailing newlines with `...`; an append must follow it."""
    return dumped[: -len("...\n")] if dumped.endswith("\n...\n") else dumped


def save_cassette(cassette: Cassette, path: str | Path | None = None) -> Path:
    """Write atomically: a temp file in the same folder, fsync, then rename over the target."""
    target = Path(path or cassette.path or "cassette.yaml")
    atomic_write(target, dumps_cassette(cassette, is_json_path(target)))
    return target


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, so never toggle it from a thread


def _file_mode(target: Path) -> int:
    """Keep an existing file's permissions; a new one gets the usual 0666 minus umask (mkstemp's is 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def atomic_write(target: Path, payload: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, _file_mode(target))
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
