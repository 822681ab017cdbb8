"""The painter (sim/plots/painter.py): a second process draws half of a run's plots, and
the folder is the same as one drawn in a single process."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from sim import api
from sim.plots.painter import Painter
from tests.helpers import small


@pytest.fixture(scope="module")
def result() -> api.RunResult:
    return api.run(small("sprint_race"))


def pngs(folder: Path) -> dict[str, np.ndarray]:
    return {path.name: mpimg.imread(path) for path in sorted((folder / "plots").glob("*.png"))}


def test_a_painted_folder_equals_a_single_process_one(result, tmp_path):
    alone = api.save(result, tmp_path / "alone")
    with Painter() as painter:
        shared = api.save(result, tmp_path / "shared", painter=painter)
    drawn_alone, drawn_shared = pngs(alone), pngs(shared)
    assert len(drawn_alone) == 6
    assert drawn_alone.keys() == drawn_shared.keys()
    for name, image in drawn_alone.items():
        assert np.array_equal(image, drawn_shared[name]), name
    assert (alone / "summary.md").read_text().count("plots/") == (
        shared / "summary.md"
    ).read_text().count("plots/")


def test_a_failing_painter_leaves_no_folder(result, tmp_path):
    broken = result.tables["firms"].drop(columns=["share"])
    bad = api.RunResult(scenario=result.scenario, tables={**result.tables, "firms": broken})
    with Painter() as painter, pytest.raises(KeyError):
        api.save(bad, tmp_path / "out", painter=painter)
    left = list((tmp_path / "out").rglob("*")) if (tmp_path / "out").exists() else []
    assert all(path.is_dir() and not any(path.iterdir()) for path in left), left


def test_a_painter_paints_only_inside_its_block(tmp_path):
    with pytest.raises(RuntimeError, match="inside its `with` block"):
        Painter().paint(tmp_path, tmp_path / "plots", ["market_share"], None, None)
