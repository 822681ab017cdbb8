"""``killline calibrate``: a tiny ABC-SMC fit end to end, its reproducibility across
executors and across an interruption, the distance, and bad flags.

The fits here check the machinery, not the fit: 2 generations of 5 particles at 1,000
users on the first six months of the history (``--fit-until 2024-12``), with 2
posterior-predictive runs.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.store import EnsembleInterrupted
from sim.inference import sampler
from sim.inference.calibrate import calibrate
from sim.inference.distance import Distance
from sim.inference.settings import load_settings
from sim.inference.smc import Fit
from sim.inference.summaries import summarize
from sim.posterior import load_posterior
from sim.validation import point_table

TINY = {
    "generations": 2,
    "particles": 5,
    "users": 1000,
    "fit_until": "2024-12",
    "predictive_draws": 2,
    "batch": 4,
}
FLAGS = [
    "--generations", "2", "--particles", "5", "--users", "1000", "--fit-until", "2024-12",
    "--predictive-draws", "2",
]  # fmt: skip
VARYING = ("date = ", "wall_seconds = ")


def stable(path) -> str:
    """A posterior file without the lines that differ from run to run (date, wall)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith(VARYING))


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The tiny calibration through the command line, serially."""
    out = tmp_path_factory.mktemp("serial")
    code = main(["calibrate", *FLAGS, "--workers", "1", "--out", str(out), "--quiet"])
    assert code == 0
    (folder,) = (out / "calibration").iterdir()
    return folder


def test_a_tiny_calibration_writes_a_loadable_posterior(serial):
    posterior = load_posterior(serial / "posterior.toml")
    fit = Fit.prepare(load_settings().replace(**TINY))
    assert posterior.keys == fit.keys
    assert posterior.particles == 5
    assert math.isclose(posterior.weights.sum(), 1.0)
    assert posterior.meta["library"] == "pyabc"
    assert len(posterior.meta["epsilon"]) == 2
    assert posterior.meta["fit_until"] == "2024-12"
    for prior, column in zip(fit.priors, posterior.values.T, strict=True):
        assert np.all((column >= prior.low) & (column <= prior.high)), prior.key
    table = pd.read_csv(serial / "fit.csv")
    assert set(table["split"]) == {"fitted", "held out"}
    assert (table[table["split"] == "fitted"]["end"] <= "2024-12").all()
    for name in ("summary.md", "report.html", "manifest.json", "history.db", "exits.csv"):
        assert (serial / name).is_file(), name
    assert {p.name for p in (serial / "plots").iterdir()} == {
        "fit.png",
        "predictive_users.png",
        "marginals.png",
        "pairs.png",
    }
    assert not list((serial.parent).glob("*-partial"))


def test_two_processes_give_the_same_posterior(serial, tmp_path):
    settings = load_settings().replace(**TINY)
    result = calibrate(settings, out=tmp_path, workers=2, progress=False)
    assert stable(result.folder / "posterior.toml") == stable(serial / "posterior.toml")


def test_an_interrupted_calibration_resumes_to_the_same_posterior(serial, tmp_path, monkeypatch):
    settings = load_settings().replace(**TINY)

    def stop_at_generation_one(facts):
        if facts["t"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(sampler, "print_generation", stop_at_generation_one)
    with pytest.raises(EnsembleInterrupted) as caught:
        calibrate(settings, out=tmp_path, workers=1, progress=False)
    partial = caught.value.folder
    assert caught.value.finished == 1 and partial.name.endswith("-partial")
    monkeypatch.undo()
    code = main(["calibrate", "--resume", str(partial), "--workers", "1", "--quiet"])
    assert code == 0
    assert not partial.exists()
    (folder,) = (p for p in (tmp_path / "calibration").iterdir() if p.is_dir())
    assert stable(folder / "posterior.toml") == stable(serial / "posterior.toml")


# ------------------------------------------------------------------ summaries and distance


def test_summaries_are_the_validation_tables_values(serial):
    tables = {
        "firms": pd.read_parquet(serial / "predictive_firms.parquet"),
        "market": pd.read_parquet(serial / "predictive_market.parquet"),
    }
    fit = Fit.prepare(load_settings())
    found = summarize(tables, fit.points)
    expected = point_table(tables, fit.panel).set_index("id")["simulated"]
    for key, value in found.items():
        assert value == pytest.approx(expected[key], nan_ok=True), key


def test_the_distance_is_zero_at_the_data_and_grows_with_the_error():
    fit = Fit.prepare(load_settings())
    observed = fit.observed
    distance = fit.distance
    assert distance(observed, observed) == 0.0
    errors = []
    for factor in (1.0, 1.1, 1.5, 3.0):
        simulated = {
            key: value * (factor if fit.distance.basis[key] not in ("at_most",) else 1.0)
            for key, value in observed.items()
        }
        errors.append(distance(simulated, observed))
    assert errors[0] == 0.0
    assert all(a < b for a, b in itertools.pairwise(errors))
    # one series' miss counts by its weight, not by its number of points
    doubao = {k: v * 2.0 if k.startswith("doubao_20") else v for k, v in observed.items()}
    kimi = {k: v * 2.0 if k.startswith("kimi_") else v for k, v in observed.items()}
    assert distance(doubao, observed) == pytest.approx(distance(kimi, observed))


def test_a_bound_met_costs_nothing_and_a_gone_firm_is_a_finite_miss():
    fit = Fit.prepare(load_settings())
    distance = Distance.for_points(fit.points, {}, floor=0.01)
    bound = next(p for p in fit.points if p.basis == "at_most")
    assert distance.error(bound.id, bound.value / 3, bound.value) == 0.0
    assert distance.error(bound.id, bound.value * 3, bound.value) == pytest.approx(math.log(3))
    value = next(p for p in fit.points if p.basis == "month")
    assert distance.error(value.id, 0.0, value.value) == pytest.approx(math.log(0.01))
    assert distance.error(value.id, float("nan"), value.value) == pytest.approx(math.log(0.01))


# ------------------------------------------------------------------ bad flags


@pytest.mark.parametrize(
    "flags",
    [
        ["--particles", "1"],
        ["--generations", "0"],
        ["--fit-until", "2025-13"],
        ["--fit-until", "2024-06"],
        ["--resume", "/nonexistent/calibration"],
        ["--workers", "0"],
        ["--users", "many"],
    ],
)
def test_bad_flags_exit_2_with_one_line(flags, tmp_path, capsys):
    try:
        code = main(["calibrate", *flags, "--out", str(tmp_path)])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1, said
    assert not (tmp_path / "calibration").exists()
