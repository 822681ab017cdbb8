"""The 2024-25 history backtest: the mid-2024 roster, the scenario of what happened, the
observed panel and the comparison (sim/validation.py), and that the comparison can fail:
without DeepSeek's breakthroughs the simulated DeepSeek stays a niche, without Kimi's ad
blitz Kimi peaks lower, without Qwen's relaunch Qwen does not jump."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import cli, simulate
from test_seeds import _cited, _known_keys, _load, _sourced_fields

from sim import validation
from sim.scenario import load_scenario
from sim.schema import SCENARIOS_DIR, SEEDS_DIR, ScenarioError

HISTORY = SCENARIOS_DIR / "history_2024.toml"
# small enough to be quick, large enough that a 1M-user app holds a few simulated users
SIZE = {"run.users": 6000, "run.startups": 1000}
SEED = 3
R1_EVENTS = ["deepseek_v3", "deepseek_r1", "deepseek_r1_news"]


def _tables(extra: str = "", tmp_path=None, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """The history at test size; `extra` lines extend it (e.g. remove_events)."""
    path = HISTORY
    if extra:
        path = tmp_path / "history_variant.toml"
        path.write_text(f'extends = "{HISTORY}"\n{extra}\n', encoding="utf-8")
    return simulate(load_scenario(path, SIZE), seed).tables()


@pytest.fixture(scope="module")
def history() -> dict[str, pd.DataFrame]:
    return _tables()


@pytest.fixture(scope="module")
def panel() -> validation.Panel:
    return validation.load_panel("observed_2024.toml")


def _mau(tables: dict[str, pd.DataFrame], firm: str) -> pd.Series:
    firms = tables["firms"]
    return firms[firms["firm"] == firm].set_index("date")["mau_m"]


# ------------------------------------------------------------------ the inputs


def test_history_loads_its_own_roster_and_panel():
    scenario = load_scenario(HISTORY)
    assert scenario.run.start == "2024-07" and scenario.run.months == 18
    assert scenario.observed == "observed_2024.toml"
    assert scenario.market.adopters_m == 230.0
    assert scenario.firms["kimi"].mau_m == 13.0  # Kimi before its fade
    assert scenario.firms["deepseek"].mau_m < 5.0  # DeepSeek a niche
    assert scenario.firms["lingyi"].tier == "independent"  # 01.AI still in the race
    assert not [e for e in scenario.events if e.kind in ("acquisition_offer",)]
    # the other scenarios keep the Jan-2026 roster and no panel
    status_quo = load_scenario("status_quo")
    assert status_quo.firms["kimi"].mau_m == pytest.approx(9.926)
    assert status_quo.observed == ""


@pytest.mark.parametrize("firm_id", list(_load(SEEDS_DIR / "firms_2024.toml")["firms"]))
def test_every_2024_figure_has_a_source(firm_id):
    firm = _load(SEEDS_DIR / "firms_2024.toml")["firms"][firm_id]
    sources = firm.get("sources", {})
    missing = [key for key in _sourced_fields(firm) if not sources.get(key, "").strip()]
    assert not missing, f"{firm_id}: no source for {missing}"
    known = _known_keys()
    for field, source in sources.items():
        cited = _cited(source)
        assert cited is None or set(cited) <= known, f"{firm_id}.{field}: {cited}"


def test_every_history_event_cites_a_source():
    for event in load_scenario(HISTORY).events:
        assert event.source.strip() and event.id, event


def test_a_missing_roster_or_panel_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{HISTORY}"\nroster = "nope.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.toml.*roster.*no such roster"):
        load_scenario(bad)
    bad.write_text(f'extends = "{HISTORY}"\nobserved = "nope.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"observed.*no such panel"):
        load_scenario(bad)


def test_a_bad_panel_point_is_one_clear_line(tmp_path, monkeypatch):
    (tmp_path / "panel.toml").write_text(
        '[[points]]\nid = "x"\nfirm = "kimi"\nbasis = "ratio"\nstart = "2025-01"\n'
        'end = "2025-01"\nvalue = 1.0\nsource = "S6"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(validation, "SEEDS_DIR", tmp_path)
    validation.load_panel.cache_clear()
    try:
        with pytest.raises(ScenarioError, match=r"panel\.toml.*points\[0\].*base_start"):
            validation.load_panel("panel.toml")
    finally:
        validation.load_panel.cache_clear()


# ------------------------------------------------------------------ the comparison


def test_every_panel_point_has_a_row(history, panel):
    points, aims = validation.compare(history, panel)
    assert list(points["id"]) == [p.id for p in panel.points]
    assert list(points["observed"]) == [p.value for p in panel.points]
    unmodelled = points[points["verdict"] == "not modelled"]
    assert set(unmodelled["measure"]) == {"in_app_ai_users_m", "pc_web_ai_users_m"}
    modelled = points.drop(unmodelled.index)
    assert np.isfinite(modelled["simulated"]).all()
    assert (modelled["low"] == modelled["simulated"]).all()  # one run: no band
    assert list(aims["id"]) == [a.id for a in panel.aims]
    # month 0 is the roster: CNNIC's 2.30亿 and Kimi's mid-2024 users
    first = points.set_index("id").loc["cnnic_2024_06"]
    assert first["simulated"] == pytest.approx(230.0, rel=0.01)


def test_an_ensemble_gives_a_median_and_a_band(history, panel, tmp_path):
    other = _tables(seed=SEED + 1)
    tables = {
        name: pd.concat(
            [history[name].assign(replicate=0), other[name].assign(replicate=1)],
            ignore_index=True,
        )
        for name in ("firms", "market")
    }
    points, _ = validation.compare(tables, panel)
    modelled = points[points["verdict"] != "not modelled"]
    assert (modelled["low"] <= modelled["simulated"]).all()
    assert (modelled["simulated"] <= modelled["high"]).all()
    assert (modelled["low"] < modelled["high"]).any()
    ends = sorted(_mau(t, "kimi").loc["2024-10"] for t in (history, other))
    band = points.set_index("id").loc["kimi_2024_10"]
    assert ends[0] <= band["low"] <= band["simulated"] <= band["high"] <= ends[1]
    assert band["simulated"] == pytest.approx(sum(ends) / 2)


def test_the_table_and_plot_are_written(history, tmp_path):
    written = validation.write(tmp_path, history, load_scenario(HISTORY))
    names = {p.name for p in written}
    assert names == {"validation.csv", "validation_aims.csv", "validation.png"}
    assert (tmp_path / "plots" / "validation.png").stat().st_size > 10_000
    table = pd.read_csv(tmp_path / "validation.csv")
    assert len(table) == len(validation.load_panel("observed_2024.toml").points)


# ------------------------------------------------------------------ the comparison can fail


def test_without_deepseeks_breakthroughs_it_stays_a_niche(history, panel, tmp_path):
    """R1 and V3 are what take DeepSeek from a niche to a giant's size: cut them and its
    simulated peak falls far below 1亿 and the points of 2025 are missed by far."""
    cut = _tables(f"remove_events = {R1_EVENTS!r}".replace("'", '"'), tmp_path)
    with_r1 = _mau(history, "deepseek").loc["2025-01":"2025-04"].max()
    without = _mau(cut, "deepseek").loc["2025-01":"2025-04"].max()
    assert with_r1 > 40.0  # about 7-8x its pre-R1 users at this size
    assert without < 10.0 and without < with_r1 / 5
    points, aims = validation.compare(cut, panel)
    peak = points.set_index("id").loc["deepseek_2025_03"]
    assert peak["sim_over_observed"] < 0.05
    assert not aims.set_index("id").loc["deepseek_reaches_1e8", "met"]


def test_kimis_ad_blitz_lifts_its_2024_users(history, tmp_path):
    cut = _tables('remove_events = ["kimi_ad_blitz"]', tmp_path)
    assert _mau(cut, "kimi").loc["2024-10"] < 0.9 * _mau(history, "kimi").loc["2024-10"]


def test_qwens_relaunch_makes_it_jump(history, tmp_path):
    cut = _tables('remove_events = ["qwen_relaunch"]', tmp_path)
    relaunched = _mau(history, "qwen")
    kept = _mau(cut, "qwen")
    jump = relaunched.loc["2025-12"] / relaunched.loc["2025-10"]
    drift = kept.loc["2025-12"] / kept.loc["2025-10"]
    assert jump > 2.0 and drift < 1.4 and jump > 1.8 * drift
    assert math.isclose(kept.loc["2025-10"], relaunched.loc["2025-10"], rel_tol=1e-9)


def test_the_note_is_regenerated_between_its_markers(history, tmp_path):
    from sim.experiments import backtest

    folder = tmp_path / "ensemble"
    folder.mkdir()
    validation.write(folder, history, load_scenario(HISTORY))
    (folder / "manifest.json").write_text(
        '{"users": 6000, "replicates": 1, "created_utc": "2026-01-01T00:00:00"}',
        encoding="utf-8",
    )
    doc = tmp_path / "validation.md"
    doc.write_text(f"prose\n{backtest.BEGIN}\nold\n{backtest.END}\nmore prose\n", encoding="utf-8")
    backtest.regenerate_doc(folder, doc)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("prose\n") and text.endswith("more prose\n") and "\nold\n" not in text
    assert "| kimi_2024_10 | kimi | month | 2024-10 | 36 |" in text
    assert text.count("| deepseek_") == 7
    assert (tmp_path / "validation.png").is_file()


def test_killline_run_writes_the_validation_into_its_folder(tmp_path):
    args = ["run", str(HISTORY), "--users", "3000", "--set", "run.startups=1000"]
    code, _, err = cli([*args, "--no-plots", "--out", str(tmp_path)])
    assert code == 0, err
    (folder,) = (tmp_path / "history_2024").iterdir()
    table = pd.read_csv(folder / "validation.csv")
    assert len(table) == len(validation.load_panel("observed_2024.toml").points)
    assert (folder / "validation_aims.csv").is_file()
    code, _, err = cli(
        [
            "run",
            "status_quo",
            "--users",
            "3000",
            "--months",
            "2",
            "--no-plots",
            "--set",
            "run.startups=1000",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0, err
    assert not list((tmp_path / "status_quo").glob("*/validation.csv"))


def test_a_bad_roster_name_exits_with_code_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{HISTORY}"\nroster = "nope.toml"\n', encoding="utf-8")
    code, _, err = cli(["run", str(bad), "--users", "1000", "--out", str(tmp_path)])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "roster" in err
