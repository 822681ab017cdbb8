"""PRIM (sim/experiments/prim.py): it finds a known box and finds nothing in noise."""

from __future__ import annotations

import numpy as np
import pytest

from sim.experiments.prim import find_box, peel

SETTINGS = {
    "peel_alpha": 0.05,
    "min_support": 0.05,
    "min_density": 0.8,
    "max_dimensions": 3,
    "max_p_value": 0.05,
}
NAMES = ["x1", "x2", "x3", "x4"]


def test_prim_finds_a_known_box():
    x = np.random.default_rng(1).uniform(0.0, 1.0, (600, 4))
    y = (x[:, 0] > 0.7) & (x[:, 1] < 0.3)
    box = find_box(x, y, NAMES, **SETTINGS)
    assert box is not None
    assert set(box.limits) == {"x1", "x2"}
    assert box.limits["x1"][0] == pytest.approx(0.7, abs=0.05)
    assert box.limits["x2"][1] == pytest.approx(0.3, abs=0.05)
    assert box.density > 0.9 and box.coverage > 0.8
    assert box.outside_density < 0.05
    assert max(box.p_values.values()) < 1e-6


def test_prim_finds_a_box_on_a_grid_of_levels():
    # a Morris-like grid: four levels per parameter, the outcome on the top level of x3
    rng = np.random.default_rng(2)
    x = rng.integers(0, 4, (200, 4)) / 3.0
    y = x[:, 2] == 1.0
    box = find_box(x, y, NAMES, **SETTINGS)
    assert box is not None and set(box.limits) == {"x3"}
    assert box.limits["x3"] == (1.0, 1.0) and box.density == 1.0


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_prim_finds_nothing_in_noise(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, (300, 4))
    y = rng.uniform(0.0, 1.0, 300) < 0.5
    assert find_box(x, y, NAMES, **SETTINGS | {"min_support": 0.1}) is None


def test_peeling_stops_at_the_minimum_support():
    x = np.random.default_rng(6).uniform(0.0, 1.0, (400, 2))
    y = x[:, 0] > 0.5
    trajectory = peel(x, y, peel_alpha=0.1, min_support=0.2)
    lower, upper = trajectory[-1]
    inside = np.all((x >= lower) & (x <= upper), axis=1)
    assert 0.2 * len(x) <= inside.sum() < 0.3 * len(x)
    assert lower[0] > 0.5  # it peeled where the outcome is absent
