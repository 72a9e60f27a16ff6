"""The two real recordings the resource model is tested on: the bundled shop and the todos API (envs/todos)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hudproxy.cassette.files import load_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.resources.learn import learn_model
from hudproxy.resources.model import ResourceModel

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "cassettes" / "shop.yaml"
TODOS = ROOT / "cassettes" / "todos.yaml"


@pytest.fixture(scope="session")
def shop_cassette() -> Cassette:
    return load_cassette(SHOP)


@pytest.fixture(scope="session")
def todos_cassette() -> Cassette:
    return load_cassette(TODOS)


@pytest.fixture(scope="session")
def shop_model(shop_cassette: Cassette) -> ResourceModel:
    return learn_model(shop_cassette)


@pytest.fixture(scope="session")
def todos_model(todos_cassette: Cassette) -> ResourceModel:
    return learn_model(todos_cassette)
