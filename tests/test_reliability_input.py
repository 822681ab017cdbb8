"""Input that passes a loose validation but would break a run: non-finite numbers, booleans
for numbers, absurd magnitudes, deep nesting, special files, duplicate event ids, events
after the horizon, empty titles, unknown claims. Each is one line naming the file and the
key path, exit code 2; and every error type survives pickling (a worker's error reaches the
user intact)."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import cli

from sim.cli import UsageError
from sim.experiments import EnsembleInterrupted, PartialEnsembleExists, ReplicateFailed, RunFailed
from sim.experiments.executors import TaskError, TaskFailed
from sim.folder import FolderInvalid, OutputError, WriteFailed
from sim.scenario import load_scenario
from sim.schema import SCENARIOS_DIR, ScenarioError

SPRINT = SCENARIOS_DIR / "sprint_race.toml"
EVENT = '[[events]]\nkind = "news"\nfirm = "kimi"\nmonth = "{month}"\nsize = 1.0\n'


def _extending(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{SPRINT}"\n{body}', encoding="utf-8")
    return path


def case_inf_in_file(tmp_path):
    path = _extending(tmp_path, "inf.toml", "[acquisition]\ndistress_distance = inf\n")
    return [str(path)], ["inf.toml", "acquisition.distress_distance", "finite number"]


def case_nan_on_the_command_line(tmp_path):
    return ["sprint_race", "--set", "economics.legacy_margin=nan"], [
        "--set",
        "economics.legacy_margin",
        "finite number",
    ]


def case_negative_inf_in_a_parent(tmp_path):
    path = _extending(tmp_path, "minus_inf.toml", "[parents.tencent]\nprofit_bn_year = -inf\n")
    return [str(path)], ["minus_inf.toml", "parents.tencent.profit_bn_year", "finite"]


def case_boolean_for_a_whole_number(tmp_path):
    return ["sprint_race", "--set", "run.months=true"], ["--set", "run.months", "boolean"]


def case_boolean_for_a_fraction(tmp_path):
    path = _extending(tmp_path, "bool.toml", "[firms.kimi]\nsupply = true\n")
    return [str(path)], ["bool.toml", "firms.kimi.supply", "boolean"]


def case_boolean_in_a_table_of_numbers(tmp_path):
    return ["sprint_race", "--set", "kill_line.share_floor.giant=false"], [
        "--set",
        "kill_line.share_floor",
        "boolean",
    ]


def case_absurd_capital(tmp_path):
    return ["sprint_race", "--set", "firms.kimi.capital_bn=1e12"], [
        "firms.kimi.capital_bn",
        "less than or equal to 100000",
    ]


def case_absurd_population(tmp_path):
    return ["sprint_race", "--set", "apps.weixin.mau_m=9e9"], [
        "apps.weixin.mau_m",
        "less than or equal to 2000",
    ]


def case_absurd_delay(tmp_path):
    return ["sprint_race", "--set", "kill_line.runway_months=1e7"], [
        "kill_line.runway_months",
        "less than or equal to 600",
    ]


def case_absurd_weight(tmp_path):
    return ["sprint_race", "--set", "choice.b_quality=1e300"], [
        "choice.b_quality",
        "less than or equal to 1000000",
    ]


def case_deeply_nested_file(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    return [str(path)], ["deep.toml", "nested too deeply"]


def case_deeply_nested_value(tmp_path):
    return ["sprint_race", "--set", "run.months=" + "[" * 5000 + "]" * 5000], [
        "--set",
        "run.months",
    ]


def case_a_folder(tmp_path):
    return [str(tmp_path)], [str(tmp_path), "not a regular file"]


def case_a_device(tmp_path):
    return [os.devnull], [os.devnull, "not a regular file"]


def case_extends_a_folder(tmp_path):
    path = tmp_path / "up.toml"
    path.write_text(f'extends = "{tmp_path}"\n', encoding="utf-8")
    return [str(path)], ["up.toml", "extends"]


def case_name_too_long(tmp_path):
    return ["x" * 5000 + ".toml"], ["cannot open"]


def case_duplicate_event_ids(tmp_path):
    body = "".join(
        EVENT.format(month="2026-03").replace("[[events]]\n", '[[events]]\nid = "twice"\n')
        for _ in range(2)
    )
    path = _extending(tmp_path, "twice.toml", body)
    return [str(path)], ["twice.toml", "events[1].id", "duplicate event id 'twice'"]


def case_event_after_the_horizon(tmp_path):
    path = _extending(tmp_path, "late.toml", EVENT.format(month="2099-01"))
    return [str(path)], ["late.toml", ".month", "2099-01 is after the horizon"]


def case_empty_title(tmp_path):
    path = _extending(tmp_path, "untitled.toml", 'title = ""\n')
    return [str(path)], ["untitled.toml", "title"]


def case_blank_title(tmp_path):
    path = _extending(tmp_path, "blank.toml", 'title = "   "\n')
    return [str(path)], ["blank.toml", "title"]


def case_unknown_claim(tmp_path):
    path = _extending(tmp_path, "claims.toml", 'claims = ["C1", "C11"]\n')
    return [str(path)], ["claims.toml", "claims[1]", "'C10'", '(got "C11")']


CASES: dict[str, Callable[[Path], tuple[list[str], list[str]]]] = {
    name[len("case_") :]: fn for name, fn in globals().items() if name.startswith("case_")
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_is_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    args, expected = CASES[case](tmp_path)
    code, out, err = cli(["validate", *args])
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("killline: error: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"


def test_a_run_refuses_them_before_writing(tmp_path: Path) -> None:
    args, _ = case_event_after_the_horizon(tmp_path)
    out = tmp_path / "out"
    code, _, err = cli(["run", *args, "--users", "500", "--out", str(out)])
    assert code == 2 and err.count("\n") == 1
    assert not out.exists()


def test_a_shorter_run_leaves_later_events_out() -> None:
    # the horizon a run is cut to on the command line is no typo in the file
    scenario = load_scenario("sprint_race", {"run.months": 3})
    assert scenario.run.months == 3 and scenario.events


def test_ranges_are_documented_in_the_schema() -> None:
    # every number of every block has an upper bound (the plausible range)
    from pydantic import BaseModel

    from sim.schema import ScenarioSchema

    unbounded = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.")
            elif annotation in (int, float):
                limits = {type(m).__name__ for m in field.metadata}
                if not limits & {"Le", "Lt"} and name != "seed":
                    unbounded.append(prefix + name)

    walk(ScenarioSchema, "")
    assert not unbounded, f"numbers without an upper bound: {unbounded}"


# ---------------------------------------------------------------------------- pickling

TASK_ERROR = TaskError("RuntimeError: boom", "Traceback ...")
ERRORS = [
    ScenarioError("a.toml", "run.months", "must be at least 1"),
    UsageError("--workers must be at least 1"),
    RunFailed("point 2, replicate 1 (seed 7)", TASK_ERROR, 2),
    ReplicateFailed(3, 99, TASK_ERROR, 1),
    TaskFailed(4, TASK_ERROR),
    EnsembleInterrupted(Path("results/x"), 2, 5),
    PartialEnsembleExists("an interrupted ensemble waits"),
    OutputError("--out x: is a file, not a folder"),
    WriteFailed(28, "cannot write the results folder x: No space left on device"),
    FolderInvalid("x: firms.parquet does not match its SHA-256"),
]


@pytest.mark.parametrize("error", ERRORS, ids=[type(e).__name__ for e in ERRORS])
def test_errors_survive_pickling(error: BaseException) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert vars(back) == vars(error)
