"""What an eval runs: tasks (a scenario and its arguments, repeated) expanded into numbered run specs.

A task file is YAML (a list) or JSONL (one object a line), each entry `{scenario: name, args: {...}, repeats: n}`
(`repeats`: the task's trials, each with its own seed; the eval's `--repeats` when absent), optionally
`rubric: file.yaml` (relative to the task file), which grades that task instead of the scenario's own rubric or
reward, and, to run it under faults, `faults:` (a faults file, relative to the task file, or the rules inline):

    - {scenario: update-order, args: {order_id: A1}, repeats: 100}
    - {scenario: update-order, args: {order_id: A1}, repeats: 100, faults: faults/throttled.yaml}
    - scenario: refund-order
      args: {order_id: A2, amount: 12.5}
      rubric: rubrics/strict-refund.yaml
      faults: {name: flaky, seed: 3, rules: [{match: {path: /refunds}, nth: 1, fault: {kind: reset}}]}

Every entry is checked before any run starts (shape, scenario name, arguments against the scenario's signature);
a bad one is a ConfigError naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hudproxy.errors import ConfigError
from hudproxy.yamlsource import compose

if TYPE_CHECKING:
    from hudproxy.env.environment import Environment

KEYS = {"scenario", "args", "repeats", "rubric", "faults"}


@dataclass(frozen=True)
class Task:
    """A scenario with its arguments; `repeats` (its trials) None means "the eval's --repeats/--runs"."""

    scenario: str
    args: dict[str, Any] = field(default_factory=dict)
    repeats: int | None = None
    where: str = ""  # "tasks.yaml:3" for messages
    rubric: str | None = None  # a rubric file grading this task (resolved against the task file's folder)
    faults: dict[str, Any] | None = None  # the runs' fault rules (`hudproxy.faults`), checked, as plain data

    @property
    def faults_name(self) -> str | None:
        """How reports tell these runs from the calm ones: the faults' `name`, else the file's stem."""
        return None if self.faults is None else str(self.faults.get("name") or "faults")

    @classmethod
    def parse(cls, entry: Any, where: str, base: Path | None = None) -> Task:
        if isinstance(entry, Task):
            return entry
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: a task must be a mapping like {{scenario: name, args: {{...}}}}, "
                              f"not {type(entry).__name__}")  # fmt: skip
        unknown = sorted(set(entry) - KEYS)
        if unknown:
            names = ", ".join(map(str, unknown))
            raise ConfigError(
                f"{where}: unknown key(s) {names}; a task has scenario, args, repeats, rubric and faults"
            )
        scenario, args, repeats = entry.get("scenario"), entry.get("args") or {}, entry.get("repeats")
        if not isinstance(scenario, str) or not scenario:
            raise ConfigError(f"{where}: `scenario` must be a scenario name (a string)")
        if not isinstance(args, Mapping):
            raise ConfigError(f"{where}: `args` must be a mapping of argument names to values")
        if repeats is not None and (isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1):
            raise ConfigError(f"{where}: `repeats` must be a whole number ≥ 1, not {repeats!r}")
        rubric = entry.get("rubric")
        if rubric is not None and (not isinstance(rubric, str) or not rubric):
            raise ConfigError(f"{where}: `rubric` must be the path of a rubric file (YAML)")
        if rubric is not None and base is not None and not Path(rubric).is_absolute():
            rubric = str(base / rubric)
        return cls(scenario, dict(args), repeats, where, rubric, task_faults(entry.get("faults"), where, base))


def task_faults(value: Any, where: str, base: Path | None) -> dict[str, Any] | None:
    """A task's `faults:` checked now (a bad rule fails before any run) and kept as plain data for the workers:
    a path (relative to the task file) is read, and named after its stem unless it names itself."""
    if value is None:
        return None
    from hudproxy.faults.load import faults_from

    if isinstance(value, str | Path):
        path = Path(value) if base is None or Path(value).is_absolute() else base / value
        plan = faults_from(path)
        assert plan is not None
        return {"name": path.stem, **plan.as_dict()}
    try:
        plan = faults_from(value, f"{where}: faults")
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None
    assert plan is not None
    return plan.as_dict()


@dataclass(frozen=True)
class RunSpec:
    """One run of the plan: picklable, so a Ray worker gets exactly what the local runner would. `task` is the
    task's place in the task list and `repeat` the trial (0-based): together they say which runs are trials of
    one task, for pass@k and pass^k."""

    index: int
    scenario: str
    args: dict[str, Any]
    repeat: int
    seed: int
    session: str
    task: int = 0
    rubric: str | None = None  # the task's rubric file, if it has its own
    faults: dict[str, Any] | None = None  # the task's fault rules, set on the run's replay session


def load_tasks(path: str | Path) -> list[Task]:
    """Tasks from a YAML file (a list) or a JSONL file (`.jsonl`/`.ndjson`), each naming its line in errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the task file ({exc.strerror or exc})") from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return list(_jsonl(path, text))
    return list(_yaml(path, text))


def _jsonl(path: Path, text: str) -> Iterator[Task]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON ({exc})") from None
        yield Task.parse(entry, f"{path}:{number}", path.parent)


def _yaml(path: Path, text: str) -> Iterator[Task]:
    root = compose(text, path, ConfigError)
    if root is None:
        raise ConfigError(f"{path}: the task file is empty; list tasks like `- {{scenario: name, args: {{...}}}}`")
    if not isinstance(root, yaml.SequenceNode):
        raise ConfigError(f"{path}:{root.start_mark.line + 1}: a task file is a list of tasks (`- scenario: ...`)")
    loader = yaml.SafeLoader("")
    for node in root.value:
        entry = loader.construct_document(node)  # one entry at a time, so its line is known for messages
        yield Task.parse(entry, f"{path}:{node.start_mark.line + 1}", path.parent)


def as_tasks(tasks: Sequence[Task | Mapping[str, Any]] | str | Path) -> list[Task]:
    """Tasks from a file path, or from Task objects / plain dicts given in Python."""
    if isinstance(tasks, str | Path):
        return load_tasks(tasks)
    if isinstance(tasks, Task | Mapping):
        tasks = [tasks]
    return [Task.parse(entry, f"task {number}") for number, entry in enumerate(tasks, 1)]


def check_tasks(env: Environment, tasks: list[Task]) -> None:
    """Every task names a scenario of `env` and gives it valid arguments; else a ConfigError naming the entry."""
    if not tasks:
        raise ConfigError("no tasks: give --scenario NAME or --tasks FILE")
    for task in tasks:
        scenario = env.scenarios.get(task.scenario)
        where = f"{task.where}: " if task.where else ""
        if scenario is None:
            defined = ", ".join(sorted(env.scenarios)) or "none"
            raise ConfigError(f"{where}unknown scenario {task.scenario!r}; {env.name!r} defines: {defined}")
        try:
            scenario.start_generator(task.args)  # validates; the generator never starts, so nothing runs
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None
        _check_rubric(task, scenario, where)


def _check_rubric(task: Task, scenario: Any, where: str) -> None:
    """The task's rubric (or the scenario's) loads and has every `{{argument}}` it uses."""
    from hudproxy.grading import load_rubric

    rubric = load_rubric(task.rubric) if task.rubric else scenario.rubric
    if rubric is None:
        return
    try:
        rubric.render(scenario.arguments(task.args))
    except ValueError as exc:
        raise ConfigError(f"{where}{rubric.source or 'rubric'}: {exc}") from None


def plan_size(tasks: list[Task], runs: int) -> int:
    return sum(task.repeats or runs for task in tasks)


def plan(tasks: list[Task], runs: int, seed: int, prefix: str = "run") -> Iterator[RunSpec]:
    """Runs in task order, a task's trials together; lazy, so 10,000 runs never sit in memory at once. Each run's
    seed comes from the eval's seed and the run's place, so every trial of a task gets a different seed and the
    same eval gets the same seeds again."""
    index = 0
    for number, task in enumerate(tasks):
        for repeat in range(task.repeats or runs):
            session = f"{prefix}-{index:06d}"
            yield RunSpec(index, task.scenario, task.args, repeat, run_seed(seed, index), session, number,
                          task.rubric, task.faults)  # fmt: skip
            index += 1


def run_seed(seed: int, index: int) -> int:
    """Each run's own seed, fixed by the eval's seed and the run's place in the plan (31 bits, for any API)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{index}".encode()).digest()[:4], "big") >> 1
