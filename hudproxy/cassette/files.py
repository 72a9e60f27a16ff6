"""Reading and writing cassette files: YAML by default, JSON by extension; atomic writes; located errors."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from hudproxy.cassette import compiled, split
from hudproxy.cassette.appendlog import LogContents, log_path, read_log
from hudproxy.cassette.atomic import atomic_write
from hudproxy.cassette.compat import upgrade
from hudproxy.cassette.locate import line_of
from hudproxy.cassette.mcp_section import mcp_to_file, ordered
from hudproxy.cassette.model import FORMAT_VERSION, VCR_VERSION, Cassette
from hudproxy.cassette.tail import cut_at_marker, cut_before_error
from hudproxy.cassette.validate import bad_value_message, checked_policies, validated
from hudproxy.cassette.values import BadValue, Malformed
from hudproxy.cassette.yamlio import CassetteDumper, CassetteLoader
from hudproxy.errors import CassetteError
from hudproxy.interaction.model import Interaction
from hudproxy.yamlsource import error_place, error_problem

log = logging.getLogger("hudproxy.cassette")


def is_json_path(path: Path) -> bool:
    return path.suffix.lower() == ".json"


# ---------------------------------------------------------------- load


def load_cassette(path: str | Path, lazy: bool = False) -> Cassette:
    """Read and validate a cassette; any problem is a CassetteError naming the file, line and fix.

    A recording cut short is recovered: a torn YAML tail is dropped and a recording log beside the cassette
    merged in, each with one warning (see cassette/tail.py and cassette/appendlog.py).

    `lazy` (a replay server): a big cassette already compiled is opened by memory-mapping its compiled image and
    its interactions are read as they are first asked for (`hudproxy.cassette.lazy`): start-up and memory do not
    grow with the file. The interactions are then a read-only sequence, not a list."""
    return _load_lazy(Path(path)) if lazy else load_recovering(path)[0]


def _load_lazy(path: Path) -> Cassette:
    """The compiled image of a cassette with no recording log beside it (a log means a recording to merge);
    else the file is loaded as usual, which compiles it when it is big and whole, and the image is opened."""
    if log_path(path).exists():
        return load_recovering(path)[0]
    found = compiled.open_lazy(path)
    if found is None:  # first sight of this file: parsed whole (which compiles it, when big), as before
        cassette, recovered = load_recovering(path)
        compiled_now = None if recovered else compiled.open_lazy(path)
        if compiled_now is not None:
            cassette.digest = compiled_now[2]  # so the index caches its keys for the next, lazy, start
            compiled_now[0].close()
        return cassette
    interactions, meta, digest = found
    return Cassette(interactions=interactions, meta=meta, path=path, digest=digest)  # type: ignore[arg-type]


def load_recovering(path: str | Path) -> tuple[Cassette, bool]:
    """`load_cassette`, also saying whether anything was recovered (so a recorder writes the file whole again)."""
    path = Path(path)
    logged = read_log(log_path(path))
    if not path.exists() and logged is not None and logged.base == 0:
        return _merge_log(Cassette(meta=logged.meta, path=path), logged), True
    if not path.exists():
        raise CassetteError(f"{path}: no such cassette file (record one with `hudproxy record`).")
    if path.is_dir():
        raise CassetteError(f"{path}: is a directory, expected a .yaml or .json cassette file.")
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise CassetteError(f"{path}: cannot be read ({exc.strerror}); check its permissions.") from None
    digest = compiled.digest_of(text) if len(text) >= compiled.MIN_SIZE else None  # hashed once for this load
    with gc_paused():
        cached = compiled.read(text, digest)
        if cached is not None:
            compiled.remember(path, text, digest)  # the next lazy open finds the entry without reading the file
            cassette = Cassette(interactions=cached[0], meta=cached[1], path=path)
            return (_merge_log(cassette, logged), True) if logged is not None else (cassette, False)
        split_load = None if is_json_path(path) or len(text) < split.MIN_SIZE else _load_split(path, text)
        if split_load is not None:
            kept, cassette = len(text), split_load
        else:
            kept, data = _parse_recovering(path, text)
            cassette = cassette_from_data(path, text[:kept], data)
        if kept < len(text):
            log.warning(
                "%s: the last interaction was cut off (a recording stopped mid-write): dropped %d bytes from "
                "byte offset %d, kept %d interactions.",
                path, len(text) - kept, kept, len(cassette.interactions),
            )  # fmt: skip
        else:
            compiled.write(text, cassette.interactions, cassette.meta, source=path, digest=digest)
    if logged is not None:
        return _merge_log(cassette, logged), True
    return cassette, kept < len(text)


def _merge_log(cassette: Cassette, logged: LogContents) -> Cassette:
    """Add what a recording log holds beyond the cassette file (the file may already hold it: a crash after
    the final write, before the log was removed)."""
    where = log_path(cassette.path) if cassette.path is not None else "the recording log"
    on_file = len(cassette.interactions)
    if not logged.base <= on_file <= logged.base + len(logged.interactions):
        log.warning(
            "%s: does not continue %s (it starts after interaction %d, the cassette holds %d); ignored.",
            where, cassette.path, logged.base, on_file,
        )  # fmt: skip
        return cassette
    new = logged.interactions[on_file - logged.base :]
    cassette.interactions.extend(replace(i, index=on_file + n) for n, i in enumerate(new))
    torn = f"; a torn last entry at byte offset {logged.torn_at} was dropped" if logged.torn_at is not None else ""
    log.warning(
        "%s: recovered %d interactions from a recording that did not stop cleanly%s; %s now holds %d.",
        where, len(new), torn, cassette.path, len(cassette.interactions),
    )  # fmt: skip
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


def _load_split(path: Path, text: bytes) -> Cassette | None:
    """A big YAML file the way hudproxy and vcrpy write it, parsed in pieces on two cores (cassette/split.py);
    None for anything else (an `mcp:` section, an older format, any problem), which the full loader then reads
    with the same result or its located error."""
    parsed = split.parse(text)
    if parsed is None:
        return None
    head, interactions = parsed
    if not isinstance(head, dict) or head.get("interactions") is not None or head.get("mcp") is not None:
        return None
    meta = head.get("hudproxy")
    if isinstance(meta, dict) and meta.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        return None  # an upgrade may rewrite the items: the full loader applies it
    try:
        cassette = cassette_from_data(path, text, {**head, "interactions": []})
    except CassetteError:
        return None
    cassette.interactions = interactions
    return cassette


def _parse_recovering(path: Path, text: bytes) -> tuple[int, Any]:
    """Parse, keeping the complete part of a YAML file whose last append was cut: (bytes kept, data)."""
    if is_json_path(path):
        return len(text), _parse(path, text)
    kept = cut_at_marker(text) or len(text)
    try:
        return kept, _load_yaml(text[:kept])
    except yaml.YAMLError as exc:
        cut = cut_before_error(text[:kept], exc)
        if cut is not None:
            try:
                return cut, _load_yaml(text[:cut])
            except yaml.YAMLError:
                pass
        return kept, _parse(path, text[:kept])  # raises the located error


def _load_yaml(text: bytes) -> Any:
    return yaml.load(text, Loader=CassetteLoader)


def _parse(path: Path, text: bytes) -> Any:
    try:
        if is_json_path(path):
            return orjson.loads(text)
        return _load_yaml(text)
    except orjson.JSONDecodeError as exc:
        raise CassetteError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}).") from None
    except yaml.YAMLError as exc:
        raise CassetteError(f"{error_place(path, exc)}: not valid YAML: {error_problem(exc)}.") from None
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
    from hudproxy.cassette.schema import CassetteMeta  # pydantic's models: only a file being parsed needs them

    try:
        meta = CassetteMeta.model_validate(data.get("hudproxy") or {}).model_dump(exclude_none=True)
        items = data.get("interactions") or []
        if not isinstance(items, list):
            raise Malformed
        mcp_items = data.get("mcp") or []
        if not isinstance(mcp_items, list):
            raise Malformed
        interactions = ordered(items, mcp_items)
    except BadValue as exc:
        raise CassetteError(bad_value_message(path, text, exc)) from None
    except (Malformed, ValidationError):
        interactions, meta = validated(path, text, data)
    checked_policies(path, text, meta)
    return Cassette(interactions=interactions, meta=meta, path=path)


def _upgrade_meta(path: Path, text: bytes, data: dict[str, Any]) -> dict[str, Any]:
    meta = data.get("hudproxy")
    if not isinstance(meta, dict):
        return data
    found = meta.get("format", FORMAT_VERSION)
    if type(found) is int and 1 <= found <= FORMAT_VERSION:
        return upgrade(data, found)
    where = f"{path}:{line_of(text, ('hudproxy', 'format'), path)}"  # only on the error path: it composes the file
    if type(found) is int and found > FORMAT_VERSION:
        raise CassetteError(
            f"{where}: hudproxy cassette format {found} is newer than this hudproxy reads ({FORMAT_VERSION}); "
            "upgrade hudproxy."
        )
    raise CassetteError(f"{where}: hudproxy cassette format {found!r} is not valid; formats start at 1.")


def cassette_to_data(cassette: Cassette, binary_as_base64: bool) -> dict[str, Any]:
    meta = {"format": FORMAT_VERSION, **{k: v for k, v in cassette.meta.items() if k != "format"}}
    from hudproxy.cassette.convert import interaction_to_file
    from hudproxy.interaction.mcp import is_mcp

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
    from hudproxy.cassette.convert import interaction_to_file

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
    if is_json_path(target):
        from hudproxy.cassette.json_binary import warn_binary_bodies

        warn_binary_bodies(target, cassette.interactions)
    return target
