"""`hudproxy report` (what a results database says, criterion by criterion) and `hudproxy grade` (re-score its
stored runs with a rubric, running nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hudproxy.cli.common import console

Arg = typer.Argument
Opt = typer.Option


def report(
    results: Annotated[Path, Arg(help="A results database (`hudproxy eval ... --out results.db`)")],
    run: Annotated[str | None, Opt("--run", help="One run's verdicts and evidence (e.g. 3f9a1c2e-000042)")] = None,
    eval_id: Annotated[str | None, Opt("--eval", help="Only this eval (default: every eval in the file)")] = None,
    as_json: Annotated[bool, Opt("--json", help="Print JSON instead of tables")] = False,
) -> None:
    """Rubric scores in a results database: per scenario the mean of each criterion and gate, or one run's.

    \b
    Example: hudproxy report results.db
    Example: hudproxy report results.db --run 3f9a1c2e-000042
             (each gate and criterion: met / unmet / n/a, with the journal rows by seq and the reasons)
    Example: hudproxy report results.db --json | jq '.evals[].scenarios'
    """
    from hudproxy.evaluation.scores import run_report, run_table, scores_table, stored_scores

    if run is not None:
        found = run_report(results, run)
        if as_json:
            print(json.dumps(found, indent=2, ensure_ascii=False))
        else:
            console.print(run_table(found))
        return
    evals = stored_scores(results, eval_id)
    if as_json:
        data = {"evals": [{"id": key, "scenarios": {name: s.to_dict() for name, s in scenarios.items()}}
                          for key, scenarios in evals.items()]}  # fmt: skip
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if not evals:
        console.print(f"{results}: no runs yet", markup=False)
    for key, scenarios in evals.items():
        console.print(scores_table(f"eval {key}", scenarios))


def grade(
    results: Annotated[Path, Arg(help="A results database (`hudproxy eval ... --out results.db`)")],
    rubric: Annotated[Path, Opt("--rubric", help="The rubric file (YAML) to score every stored run with")],
    eval_id: Annotated[str | None, Opt("--eval", help="Only this eval's runs")] = None,
    scenario: Annotated[str | None, Opt("--scenario", "-s", help="Only this scenario's runs")] = None,
    save: Annotated[bool, Opt("--save", help="Write the new scores and rewards into the results database")] = False,
    as_json: Annotated[bool, Opt("--json", help="Print every run's grade as JSON instead of the table")] = False,
    judge: Annotated[str | None, Opt(help="Model for `judge:` criteria (OPENAI_BASE_URL/OPENAI_API_KEY, or "
                                          "HUDPROXY_JUDGE_BASE_URL/HUDPROXY_JUDGE_API_KEY); answers are cached, "
                                          "so a second re-grade asks nothing")] = None,
    judge_samples: Annotated[
        int, Opt(min=1, help="Ask the judge this many times per criterion; the majority decides")
    ] = 1,
) -> None:
    """Re-score stored runs with a rubric, without running anything (journal rows, answers, transcripts and the
    end states the eval stored).

    \b
    Example: hudproxy grade results.db --rubric rubrics/refund.yaml --scenario refund-order
    Example: hudproxy grade results.db --rubric rubrics/refund.yaml --save     (then `hudproxy report results.db`)

    A criterion the stored runs cannot answer (a `db:` query or `read:` nobody ran during the eval) is n/a with
    that reason; `judge:` criteria are n/a unless `--judge MODEL` names a judge (its answers are cached per
    criterion and run content, so re-grading again asks nothing).
    """
    from hudproxy.evaluation.regrade import grade_runs
    from hudproxy.evaluation.scores import regraded_scores, scores_table

    chosen = None
    if judge is not None:
        from hudproxy.grading.llm_judge import judge_from_environment

        chosen = judge_from_environment(judge, samples=judge_samples)
    regraded = grade_runs(results, rubric, chosen, eval_id=eval_id, scenario=scenario, save=save)
    if as_json:
        print(json.dumps([r.to_dict() for r in regraded], indent=2, ensure_ascii=False))
        return
    stored: dict[str, list[float]] = {}
    for r in regraded:
        stored.setdefault(r.scenario, []).append(r.stored_reward or 0.0)
    means = {name: sum(values) / len(values) for name, values in stored.items()}
    table = scores_table(f"{results} re-graded with {rubric}", regraded_scores(regraded), means)
    table.caption = f"{len(regraded)} runs" + (f"; saved to {results}" if save else "; not saved (--save stores it)")
    table.caption_justify = "left"
    console.print(table)
