"""The `killline` command line: a run end to end, the other commands, and bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from helpers import cli as invoke
from pandas.testing import assert_frame_equal

from sim.cli import main
from sim.cli.commands_batch import SENSITIVITY_METHODS
from sim.experiments.methods import METHODS
from sim.model import AIMarket
from sim.plots.run import RUN_PLOTS
from sim.scenario import Scenario, load_scenario
from sim.schema import PROJECT_ROOT, SCENARIOS_DIR

SPRINT = (SCENARIOS_DIR / "sprint_race.toml").as_posix()
SMALL_ARGS = ["--users", "3000", "--months", "6", "--set", "run.startups=2000"]
SMALL_OVERRIDES = {"run.users": 3000, "run.months": 6, "run.startups": 2000}
RUN_FILES = (
    "firms.parquet",
    "market.parquet",
    "migration.parquet",
    "startups.parquet",
    "events.csv",
    "resolved.toml",
    "manifest.json",
    "summary.md",
)
FIRM_COLUMNS = (
    "month",
    "date",
    "firm",
    "tier",
    "users_m",
    "share",
    "capital_bn",
    "revenue_bn",
    "costs_bn",
    "funding_bn",
    "quality",
    "supply",
    "cost_efficiency",
    "runway_months",
    "distance_to_kill_line",
    "status",
)


def results_path(stdout: str) -> Path:
    found = re.search(r"^results: (.+)$", stdout, re.MULTILINE)
    assert found, "the run prints where its results are"
    return Path(found.group(1).strip())


def run_folders(root: Path) -> list[Path]:
    """Every run folder (one holding a manifest) under a results root."""
    return sorted(p.parent for p in root.rglob("manifest.json"))


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> tuple[int, str, Path, Path]:
    """`killline run sprint_race` on a small population: exit code, stdout, out root, folder."""
    out = tmp_path_factory.mktemp("results")
    code, stdout, _ = invoke(["run", "sprint_race", *SMALL_ARGS, "--out", str(out)])
    return code, stdout, out, results_path(stdout)


# ------------------------------------------------------------------ a run end to end


def test_run_exits_zero_and_prints_outcomes(cli_run):
    code, stdout, out, folder = cli_run
    assert code == 0
    scenario = load_scenario("sprint_race")
    assert scenario.title in stdout
    for firm_id in scenario.firms:
        assert re.search(rf"^\s*{firm_id}\s", stdout, re.MULTILINE), firm_id
    assert folder.is_dir()
    assert folder.parent == out / "sprint_race"


def test_run_folder_holds_tables_plots_and_manifest(cli_run):
    _, _, _, folder = cli_run
    for name in RUN_FILES:
        assert (folder / name).is_file(), name
    for name in RUN_PLOTS:
        png = folder / "plots" / f"{name}.png"
        assert png.is_file(), name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert load_scenario("sprint_race").title in summary
    assert "plots/market_share.png" in summary


def test_manifest_records_seed_hash_versions_and_time(cli_run):
    _, _, _, folder = cli_run
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    scenario = load_scenario("sprint_race", SMALL_OVERRIDES)
    assert manifest["seed"] == scenario.run.seed
    assert manifest["scenario_sha256"] == scenario.digest()
    assert {"python", "mesa", "numpy", "pandas"} <= set(manifest["versions"])
    assert isinstance(manifest["wall_seconds"], float)
    assert manifest["wall_seconds"] > 0
    assert manifest["users"] == 3000
    assert manifest["months"] == 6


def test_resolved_scenario_reproduces_the_run(cli_run):
    _, _, _, folder = cli_run
    with (folder / "resolved.toml").open("rb") as handle:
        resolved = Scenario.model_validate(tomllib.load(handle))
    assert resolved.run.startups == 2000, "--set appears in the resolved scenario"
    assert resolved.run.users == 3000
    assert resolved.run.months == 6
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert resolved.digest() == manifest["scenario_sha256"]


def test_saved_tables_are_the_run(cli_run):
    _, _, _, folder = cli_run
    scenario = load_scenario("sprint_race", SMALL_OVERRIDES)
    model = AIMarket(scenario, rng=scenario.run.seed)
    model.run_for(scenario.run.months)
    fresh = model.tables()
    for name in ("firms", "market", "migration", "startups"):
        saved = pd.read_parquet(folder / f"{name}.parquet")
        assert_frame_equal(saved, fresh[name], check_dtype=False, obj=name)
    events = pd.read_csv(folder / "events.csv", keep_default_na=False)
    assert events["kind"].tolist() == fresh["events"]["kind"].tolist()


def test_firm_table_columns(cli_run):
    _, _, _, folder = cli_run
    firms = pd.read_parquet(folder / "firms.parquet")
    missing = [c for c in FIRM_COLUMNS if c not in firms.columns]
    assert not missing
    assert sorted(firms["month"].unique()) == list(range(7))


def test_no_hidden_temporary_folder_remains(cli_run):
    _, _, out, folder = cli_run
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".")]
    assert not leftovers
    assert run_folders(out) == [folder]


def test_running_twice_makes_two_folders(tmp_path):
    args = ["run", "sprint_race", *SMALL_ARGS, "--no-plots", "--out", str(tmp_path)]
    first, second = invoke(args), invoke(args)
    assert first[0] == second[0] == 0
    folders = {results_path(first[1]), results_path(second[1])}
    assert len(folders) == 2
    assert set(run_folders(tmp_path)) == folders


def test_profile_prints_a_stage_table(tmp_path):
    code, stdout, _ = invoke(
        ["run", "sprint_race", *SMALL_ARGS, "--no-plots", "--profile", "--out", str(tmp_path)]
    )
    assert code == 0
    assert re.search(r"^stage\s+seconds\s+share", stdout, re.MULTILINE)
    for stage in ("users", "accounts", "kill_line", "startups", "funding"):
        assert re.search(rf"^{stage}\s+\d+\.\d+\s+\d+\.\d%", stdout, re.MULTILINE), stage


def test_list_and_validate(capsys):
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "sprint_race" in listed and "status_quo" in listed
    assert "INVALID" not in listed
    assert "kimi" in listed
    assert main(["validate", "sprint_race"]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["validate", SPRINT, "--set", "kill_line.runway_months=4"]) == 0


def test_plot_redraws_the_plots(cli_run, tmp_path):
    _, _, _, folder = cli_run
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "plots")
    code, stdout, _ = invoke(["plot", str(copy)])
    assert code == 0
    for name in RUN_PLOTS:
        png = copy / "plots" / f"{name}.png"
        assert png.is_file(), name
        assert str(png) in stdout


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_missing_result_folder_is_bad_input(tmp_path, command):
    code, _, stderr = invoke([command, str(tmp_path / "no_such_run")])
    assert code == 2
    assert stderr.strip().count("\n") == 0
    assert "no_such_run" in stderr


def help_text(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 0
    return capsys.readouterr().out


def test_every_command_is_on_the_parser(capsys):
    out = help_text(["--help"], capsys)
    for command in ("run", "list", "validate", "plot", "compare", "ensemble", "sweep"):
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command
    assert "sensitivity" in out
    assert SENSITIVITY_METHODS == METHODS


def test_outcome_help_lists_the_outcomes(capsys):
    from sim.outcomes import OUTCOMES

    out = "".join(help_text(["sweep", "--help"], capsys).split())
    assert all(name in out for name in OUTCOMES)


# ------------------------------------------------------------------ bad input


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _extending(tmp_path: Path, name: str, body: str) -> Path:
    return _write(tmp_path / name, f'extends = "{SPRINT}"\n{body}')


def case_malformed(tmp_path):
    path = _write(tmp_path / "broken.toml", "[run\nmonths = 3\n")
    return [str(path)], ["broken.toml", "malformed TOML", "line 1"]


def case_unknown_section(tmp_path):
    path = _extending(tmp_path, "typo_section.toml", "[kill_lin]\nrunway_months = 3\n")
    return [str(path)], ["typo_section.toml", "kill_lin", "'kill_line'"]


def case_unknown_key(tmp_path):
    path = _extending(tmp_path, "typo_key.toml", "[kill_line]\nrunway_month = 3\n")
    return [str(path)], ["typo_key.toml", "kill_line.runway_month", "'runway_months'"]


def case_wrong_type(tmp_path):
    path = _extending(tmp_path, "wrong_type.toml", '[run]\nmonths = "ten"\n')
    return [str(path)], ["wrong_type.toml", "run.months", "integer"]


def case_negative_capital(tmp_path):
    return ["sprint_race", "--set", "firms.zhipu.capital_bn=-1"], [
        "--set",
        "firms.zhipu.capital_bn",
        "greater than or equal to 0",
    ]


def case_share_above_one(tmp_path):
    return ["sprint_race", "--set", "firms.doubao.supply=1.5"], [
        "--set",
        "firms.doubao.supply",
        "less than or equal to 1",
    ]


def case_out_of_range_in_file(tmp_path):
    path = _extending(tmp_path, "negative.toml", "[firms.zhipu]\ncapital_bn = -1.0\n")
    return [str(path)], ["negative.toml", "firms.zhipu.capital_bn"]


def case_missing_file(tmp_path):
    return [str(tmp_path / "nowhere.toml")], ["nowhere.toml", "no such scenario file"]


def case_missing_parent(tmp_path):
    path = _write(tmp_path / "orphan.toml", 'extends = "no_parent_here.toml"\n')
    return [str(path)], ["orphan.toml", "extends", "no_parent_here.toml"]


def case_unknown_firm_in_event(tmp_path):
    body = (
        '[[events]]\nkind = "funding_round"\nfirm = "kimmi"\nmonth = "2026-03"\namount_bn = 1.0\n'
    )
    path = _extending(tmp_path, "ghost_firm.toml", body)
    return [str(path)], ["ghost_firm.toml", "events[", ".firm", "'kimmi'", "'kimi'"]


def case_extends_cycle(tmp_path):
    _write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    path = _write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    return [str(path)], ["a.toml", "b.toml", "extends", "cycle"]


def case_unknown_event_kind(tmp_path):
    body = '[[events]]\nkind = "alien_landing"\nfirm = "kimi"\nmonth = "2026-03"\n'
    path = _extending(tmp_path, "odd_event.toml", body)
    return [str(path)], ["odd_event.toml", "events", "event kind", "funding_round"]


def case_set_without_equals(tmp_path):
    return ["sprint_race", "--set", "kill_line.runway_months"], [
        "--set",
        "kill_line.runway_months",
        "key.path=value",
    ]


BAD_INPUT: dict[str, Callable[[Path], tuple[list[str], list[str]]]] = {
    "malformed_toml": case_malformed,
    "unknown_section": case_unknown_section,
    "unknown_key": case_unknown_key,
    "wrong_type": case_wrong_type,
    "negative_capital": case_negative_capital,
    "share_above_one": case_share_above_one,
    "out_of_range_in_file": case_out_of_range_in_file,
    "missing_file": case_missing_file,
    "missing_extends_target": case_missing_parent,
    "unknown_firm_in_event": case_unknown_firm_in_event,
    "extends_cycle": case_extends_cycle,
    "unknown_event_kind": case_unknown_event_kind,
    "set_without_equals": case_set_without_equals,
}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_is_one_line_and_exit_code_2(case, tmp_path, capsys):
    scenario_args, expected = BAD_INPUT[case](tmp_path)
    out = tmp_path / "out"
    code = main(["run", *scenario_args, "--users", "1000", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert "Traceback" not in captured.err
    assert not out.exists() or not any(out.iterdir()), "no results folder on bad input"


@pytest.mark.parametrize("case", ["unknown_key", "unknown_firm_in_event"])
def test_validate_reports_the_same_line(case, tmp_path, capsys):
    scenario_args, expected = BAD_INPUT[case](tmp_path)
    assert main(["validate", *scenario_args]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line
    for text in expected:
        assert text in line, f"{text!r} not in {line!r}"


def test_usage_error_is_one_line_and_exit_code_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["run", "sprint_race", "--no-such-flag"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--no-such-flag" in err


@pytest.mark.parametrize("case", ["negative_capital", "malformed_toml"])
def test_bad_input_in_a_real_process(case, tmp_path):
    scenario_args, expected = BAD_INPUT[case](tmp_path)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", *scenario_args, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert done.stdout == ""
    assert not out.exists() or not any(out.iterdir())
