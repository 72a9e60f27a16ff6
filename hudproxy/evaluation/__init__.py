"""The parallel eval runner: many isolated runs of an environment's scenarios, summarised and kept in SQLite.

    hudproxy eval envs/shop --scenario update-order --arg order_id=A1 --agent scripted --runs 1000 \\
        --concurrency 64 --out results.db
    hudproxy eval envs/shop --tasks tasks.yaml --agent openai:gpt-4o-mini --backend ray

    from hudproxy.evaluation import run_eval
    summary = await run_eval("envs/shop", "tasks.yaml", "scripted", concurrency=64, out="results.db")
    summary.mean_reward, summary.scenarios["update-order"].percentile(95)

Modules: `tasks` (task files, the run plan), `agents` (`--agent` specs), `execute` (one run → a RunRecord),
`local` and `ray_backend` (where runs happen), `store` (the results database), `summary` (the final table),
`runner` (`run_eval`, tying them together).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hudproxy.lazy import lazy_exports

if TYPE_CHECKING:
    from hudproxy.evaluation.agents import AgentSource
    from hudproxy.evaluation.execute import RunRecord
    from hudproxy.evaluation.regrade import Regraded, grade_runs
    from hudproxy.evaluation.runner import Backend, run_eval
    from hudproxy.evaluation.store import open_results
    from hudproxy.evaluation.summary import EvalSummary, ScenarioStats
    from hudproxy.evaluation.tasks import RunSpec, Task, load_tasks

# names load on first use: `hudproxy grade` re-scores stored runs without importing the environment SDK
_EXPORTS = {
    "AgentSource": "agents", "RunRecord": "execute", "Regraded": "regrade", "grade_runs": "regrade",
    "Backend": "runner", "run_eval": "runner", "open_results": "store", "EvalSummary": "summary",
    "ScenarioStats": "summary", "RunSpec": "tasks", "Task": "tasks", "load_tasks": "tasks",
}  # fmt: skip
__all__ = [
    "AgentSource",
    "Backend",
    "EvalSummary",
    "Regraded",
    "RunRecord",
    "RunSpec",
    "ScenarioStats",
    "Task",
    "grade_runs",
    "load_tasks",
    "open_results",
    "run_eval",
]
__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
