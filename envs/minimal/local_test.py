"""Run the minimal environment's scenario locally with a scripted agent: `python envs/minimal/local_test.py`."""

from __future__ import annotations

import asyncio

from env import env

from hudproxy.env import Final, ScriptedAgent, ToolCall


async def main() -> None:
    agent = ScriptedAgent(
        [
            ToolCall("read_note", {"title": "welcome"}),
            ToolCall("count_words", {"text": "hudproxy environments are MCP servers and clients in one."}),
            Final("9"),
        ]
    )
    async with env:
        run = await env.run("count-note-words", agent, title="welcome")
    print(f"reward {run.reward}")
    for call in run.calls():
        print(" ", call.describe())


if __name__ == "__main__":
    asyncio.run(main())
