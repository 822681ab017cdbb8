"""What a collapse does to a firm past the kill line (docs/model.md 7.10): its users flee at
`flight_rate` a month, nobody joins it, and its researchers leave (`talent_flight`)."""

from __future__ import annotations

import pytest
from helpers import PRESENCE_SQUEEZE, firm_rows, simulate, small

# Zhipu crosses on presence with cash in hand and collapses for collapse_months.
# No giant bids (no acquirers), so the collapse runs its course.
SQUEEZE = {**PRESENCE_SQUEEZE, "acquisition.acquirers": []}


def collapse_months(model, firm: str) -> list[int]:
    rows = firm_rows(model, firm)
    return rows.index[rows["status"] == "below_kill_line"].tolist()


@pytest.mark.parametrize("flight_rate", [0.0, 1.0])
def test_users_flee_a_collapsing_firm_at_the_flight_rate(flight_rate):
    scenario = small("sprint_race", {**SQUEEZE, "kill_line.flight_rate": flight_rate})
    model = simulate(scenario, 5)
    months = collapse_months(model, "minimax")
    assert len(months) >= 2
    users = firm_rows(model, "minimax")["users_m"]
    migration = model.tables()["migration"]
    month = months[1]  # the first month of the collapse after the crossing
    left = migration.query("month == @month and `from` == 'minimax'")["users_m"].sum()
    held = users.loc[month - 1]
    assert held > 0
    if flight_rate == 1.0:
        assert left == pytest.approx(held)
    else:
        assert left < 0.5 * held, "only the ordinary reconsideration: most users stay"
    joined = migration.query("month > @months[0] and to == 'minimax'")
    assert joined.empty, "nobody joins a collapsing firm"


def test_researchers_leave_a_collapsing_firm():
    """Quality falls by talent_flight a month on top of the frontier's drift."""
    squeeze = small("sprint_race", SQUEEZE)
    calm = squeeze.with_overrides({"capabilities.talent_flight": 0.0})
    months = collapse_months(simulate(squeeze, 5), "minimax")
    with_flight = firm_rows(simulate(squeeze, 5), "minimax")["quality"]
    without = firm_rows(simulate(calm, 5), "minimax")["quality"]
    assert (with_flight.loc[: months[0] - 1] == without.loc[: months[0] - 1]).all()
    assert (with_flight.loc[months[1:]] < without.loc[months[1:]]).all()
