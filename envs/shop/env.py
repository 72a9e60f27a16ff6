"""The shop as an environment (the "organized" layout): tools from the shop API, scenarios, setup, graders.

    env.py        the Environment: where the tools come from, which scenarios exist
    agents.py     scripted plans per scenario (`--agent scripted`): what `hudproxy demo` and the eval bench run
    setup/        what runs before tools are used (a replay of the recorded shop) and mock services (a mailer)
    scenarios/    the tasks, one module per theme, each `register(env)`
    rubrics/      how each scenario is graded, as data (gates and weighted criteria; `hudproxy grade` re-scores)

By default the shop runs in-process (`connect_fastapi(create_app)`: a fresh shop per run, so runs never see each
other's writes). With HUDPROXY_SHOP_MODE=replay the tools call a hudproxy replay of cassettes/shop.yaml instead,
each run in its own replay session.

Serve it: `hudproxy serve envs/shop --port 8765`; develop it: `hudproxy dev envs/shop -w scenarios -w rubrics`.
"""

from __future__ import annotations

import os

from hudproxy.env import Environment

from .agents import scripted
from .scenarios import orders, refunds
from .service import create_app
from .setup import mailer

env = Environment("shop", instructions="Tools of an online shop: orders, refunds and customer e-mail.")

if os.environ.get("HUDPROXY_SHOP_MODE") == "replay":
    from .setup import replay

    env.setup(replay.shop_replay)
    env.connect_openapi(lambda: create_app().openapi(), base_url=replay.base_url)
else:
    env.connect_fastapi(create_app)
env.mock_service(mailer.MockMailer)

orders.register(env)
refunds.register(env)
env.agent("scripted", scripted)  # `hudproxy eval envs/shop --agent scripted`: a fixed plan per scenario
