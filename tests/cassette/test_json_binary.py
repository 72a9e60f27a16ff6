"""A JSON cassette with a binary body: hudproxy reads it, vcrpy cannot (its JSON serializer has no binary form),
so writing one warns, naming the file and the interaction. Recorded from the real shop through the proxy."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import vcr

from envs.shop.service import create_app
from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.record import Recorder
from hudproxy.record.background import recording_proxy
from hudproxy.serving import serve_in_thread
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

CALLS = ["/health", "/catalog/image", "/orders/A1"]


def record_calls(recorder: Recorder, shop: str) -> list[bytes]:
    with recording_proxy(recorder, shop) as proxy, httpx.Client(base_url=proxy, timeout=10) as client:
        return [client.get(p).content for p in CALLS]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, list[bytes]]:
    """The shop recorded as YAML (the image is binary); the shop is stopped afterwards."""
    folder = tmp_path_factory.mktemp("json-binary")
    path = folder / "shop.yaml"
    with serve_in_thread(create_app()) as shop:
        live = record_calls(Recorder(path, "all", target=shop), shop)
    return shop, path, live


def test_writing_a_json_cassette_with_a_binary_body_warns_once_naming_file_and_interaction(
    recorded: tuple[str, Path, list[bytes]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shop, path, _ = recorded
    target = tmp_path / "shop.json"
    with caplog.at_level(logging.WARNING, logger="hudproxy.cassette"):
        save_cassette(load_cassette(path), target)
        save_cassette(load_cassette(path), target)  # the same interactions again: said once
    messages = [r.getMessage() for r in caplog.records if r.name == "hudproxy.cassette"]
    assert len(messages) == 1
    (message,) = messages
    assert message.startswith(f"{target}: binary body in interaction 1 (GET {shop}/catalog/image, response): ")
    assert "vcrpy cannot" in message and "save as .yaml" in message and "\n" not in message
    assert load_cassette(target).interactions == load_cassette(path).interactions, "hudproxy reads it"


def test_yaml_and_text_only_json_cassettes_do_not_warn(
    recorded: tuple[str, Path, list[bytes]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, path, _ = recorded
    cassette = load_cassette(path)
    with caplog.at_level(logging.WARNING, logger="hudproxy.cassette"):
        save_cassette(cassette, tmp_path / "again.yaml")
        cassette.interactions = [i for i in cassette.interactions if "image" not in i.request.url]
        save_cassette(cassette, tmp_path / "text.json")
    assert [r for r in caplog.records if r.name == "hudproxy.cassette"] == []


def test_a_recording_into_a_json_file_warns_as_the_binary_response_is_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "live.json"
    with caplog.at_level(logging.WARNING, logger="hudproxy.cassette"), serve_in_thread(create_app()) as shop:
        record_calls(Recorder(target, "all", target=shop), shop)
    messages = [r.getMessage() for r in caplog.records if r.name == "hudproxy.cassette"]
    assert len(messages) == 1 and messages[0].startswith(f"{target}: binary body in interaction 1 (GET ")


def test_vcrpy_indeed_cannot_replay_the_binary_body_from_json(
    recorded: tuple[str, Path, list[bytes]], tmp_path: Path
) -> None:
    """The premise of the warning, with vcrpy itself: the YAML copy replays the image, the JSON copy does not."""
    shop, path, live = recorded
    save_cassette(load_cassette(path), tmp_path / "shop.json")
    with vcr.VCR().use_cassette(str(path), record_mode="none", serializer="yaml"):
        assert httpx.get(shop + "/catalog/image").content == live[1]
    with (
        pytest.raises(KeyError, match="string"),  # vcrpy looks for body.string; hudproxy wrote base64_string
        vcr.VCR().use_cassette(str(tmp_path / "shop.json"), record_mode="none", serializer="json"),
    ):
        httpx.get(shop + "/catalog/image")


def test_many_binary_bodies_are_named_in_one_line_with_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    image = make_response(body=bytes(range(256))[::-1], headers=[("Content-Type", "image/png")])
    upload = make_request("PUT", "http://api.test/blob", body=b"\xff\xd8" * 10)
    interactions = [make_interaction(make_request(url=f"http://api.test/img/{n}"), image) for n in range(4)]
    interactions.append(make_interaction(upload, image))
    with caplog.at_level(logging.WARNING, logger="hudproxy.cassette"):
        save_cassette(make_cassette(interactions), tmp_path / "many.json")
    (message,) = [r.getMessage() for r in caplog.records if r.name == "hudproxy.cassette"]
    assert message.startswith(
        f"{tmp_path / 'many.json'}: binary bodies in interactions 0 (GET http://api.test/img/0, response), "
        "1 (GET http://api.test/img/1, response), 2 (GET http://api.test/img/2, response) and 2 more: "
        "a JSON cassette stores them as base64_string"
    )
