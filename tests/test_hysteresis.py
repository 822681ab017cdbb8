"""The kill line as a tipping point (docs/model.md, 7.10a): a funding freeze that stops
a firm just short of the line is survived, one that pushes it just past is not, although
the freeze is lifted in both cases."""

from __future__ import annotations

import pytest

from sim.hysteresis import freeze_outcome


@pytest.fixture(scope="module")
def stepfun():
    return {months: freeze_outcome("stepfun", months) for months in (0, 16, 18)}


def test_stopped_short_of_the_line_the_firm_recovers(stepfun):
    short = stepfun[16]
    assert not short.crossed
    assert short.status_end == "active"
    assert short.distance_end > 0.5
    assert short.distance_end > stepfun[0].distance_end - 0.5


def test_pushed_past_the_line_the_firm_does_not_come_back(stepfun):
    past = stepfun[18]
    assert past.crossed
    assert past.status_end in ("acquired", "pivoted", "closed")


def test_a_dip_that_is_not_confirmed_is_not_a_crossing():
    dip = freeze_outcome("zhipu", 18)
    assert dip.min_distance < 0
    assert not dip.crossed
    assert dip.status_end == "active"
    assert dip.distance_end > 1.0
