"""Docking: the vectorised user population against the one-agent-per-user reference.

For each of REPLICATES seeds, one UserPopulation is built and placed (month 0), the Mesa
reference (sim/reference.py) is copied from it, and both are driven through the same
MONTHS months of market views: a campaign month, an independent's breakthrough, an
acquisition that hands over users, a large firm that stops taking users and collapses
(flight), and its exit (evacuation). Each replicate yields, for both, the main users and
the MAU (main and secondary uses) of every firm at the end of every month, every firm's
monthly inflow and outflow, and the run's from -> to migration counts.

The two runs of a replicate share their start and differ only in their random numbers, so
if the two implementations follow the same rules the pair is exchangeable. For every
statistic two paired sign-flip tests are run on the replicates, with p-values bounded by
Hoeffding's inequality: equal means, and the Pitman-Morgan test (same variance: the sum
and the difference of the pair are uncorrelated). All p-values are corrected together
(Holm) at a family-wise ALPHA.

The same comparison run against deliberately broken references (one that ignores friends,
one that ignores the stickiness of supply in the reconsider rate) must reject: that is the
evidence that the docking test can see a real difference.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace

import numpy as np
import pytest

from sim.model import AIMarket
from sim.reference import ReferenceUsers, User
from sim.scenario import Scenario, load_scenario
from sim.schema import SEGMENTS
from sim.users import MarketView, UserPopulation

N_USERS = 4000
MONTHS = 12
REPLICATES = 40
ALPHA = 0.01
MIN_MEAN_COUNT = 5.0  # statistics that rarely count a user carry no power; left out
BASE_RATE = 0.06
CAMPAIGN_RATE = 0.12
BASS = (0.02175, 0.0)
# At the default weight (2) the social term shifts choices by a few per cent, which 40
# replicates of 4,000 users cannot tell from noise; at 6 each term of the utility visibly
# moves users, so a reference that mishandled any of them would show.
DOCKING = {"run.users": N_USERS, "run.startups": 500, "choice.b_social": 6.0}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("sprint_race", DOCKING)


@pytest.fixture(scope="module")
def schedule(scenario: Scenario) -> list[list[tuple]]:
    """The months of calls both implementations receive: month 1 is index 0."""
    view = AIMarket(scenario, rng=1).market_view()
    firm = {firm_id: index for index, firm_id in enumerate(scenario.firm_ids)}
    breakthrough = _with(view, quality={firm["deepseek"]: view.quality[firm["deepseek"]] + 0.25})
    collapse = _with(breakthrough, choosable={firm["ernie"]: False}, flight={firm["ernie"]: 0.35})
    # a cash campaign (trial users) and news about a rival in month 2
    campaign = _with(view, cash_bn={firm["yuanbao"]: 1.0}, buzz={firm["deepseek"]: 2.0})
    months: list[list[tuple]] = []
    for month in range(1, MONTHS + 1):
        current = view if month < 4 else breakthrough if month < 7 else collapse
        current = campaign if month == 2 else current
        rate = CAMPAIGN_RATE if month == 2 else BASE_RATE
        calls: list[tuple] = [("move", current, rate, *BASS)]
        if month == 6:
            calls.append(("transfer", firm["kimi"], firm["qwen"], 0.5))
        if month == 10:
            calls.append(("evacuate", firm["ernie"], current))
        months.append(calls)
    return months


def _with(view: MarketView, **changes: dict[int, object]) -> MarketView:
    """A copy of `view` with some firms' entries changed."""
    fields = {}
    for name, by_firm in changes.items():
        values = getattr(view, name).copy()
        for index, value in by_firm.items():
            values[index] = value
        fields[name] = values
    return replace(view, **fields)


def _drive(users, schedule: list[list[tuple]], population: UserPopulation) -> dict:
    """Apply the schedule to `users` (either implementation); what each month leaves.

    `population` supplies the fixed attributes (friends, segments) both share."""
    found: dict[str, list] = {
        "users": [],
        "mau": [],
        "flows": [],
        "agreeing": [],
        "changed": [],
    }
    start = users.assistant.copy()
    for calls in schedule:
        for name, *args in calls:
            getattr(users, name)(*args)
        held = users.assistant
        found["users"].append(users.counts())
        found["mau"].append(users.mau_counts())
        found["flows"].append(users.take_migration())
        same = (held[population.neighbors] == held[:, None]) & (held[:, None] >= 0)
        found["agreeing"].append(np.sum(same))
        found["changed"].append(np.sum(held != start))
    on = held >= 0
    by_segment = np.bincount(
        held[on].astype(np.int64) * len(SEGMENTS) + population.segment[on],
        minlength=population.n_firms * len(SEGMENTS),
    )
    found["by_segment"] = by_segment.reshape(population.n_firms, len(SEGMENTS))
    return {name: np.array(values) for name, values in found.items()}


def _placed(scenario: Scenario, schedule: list[list[tuple]], seed: int) -> UserPopulation:
    """Replicate `seed`'s population at month 0, placed under the first month's view."""
    population = UserPopulation(scenario, N_USERS, np.random.default_rng([7, seed]))
    view = schedule[0][0][1]
    population.fit_month0(view, BASE_RATE, *BASS)
    return population


def vectorised_runs(scenario: Scenario, schedule: list[list[tuple]]) -> list[dict]:
    """Every replicate run by the vectorised population."""
    runs = []
    for seed in range(REPLICATES):
        population = _placed(scenario, schedule, seed)
        runs.append(_drive(population, schedule, deepcopy(population)))
        held = population.assistant[population.assistant >= 0]
        np.testing.assert_array_equal(
            population.counts(), np.bincount(held, minlength=population.n_firms)
        )
    return runs


def reference_runs(scenario: Scenario, schedule: list[list[tuple]], reference_class) -> list:
    """Every replicate run by a reference started from the same placed population."""
    runs = []
    for seed in range(REPLICATES):
        population = _placed(scenario, schedule, seed)
        runs.append(_drive(reference_class(population, rng=1000 + seed), schedule, population))
    return runs


def _statistics(run: dict[str, np.ndarray], firm_ids: list[str]) -> dict[str, float]:
    """One replicate's statistics by name."""
    found: dict[str, float] = {}
    flows = run["flows"]
    names = [*firm_ids, "none"]
    for month, (row, mau) in enumerate(zip(run["users"], run["mau"], strict=True), start=1):
        for index, firm_id in enumerate(firm_ids):
            found[f"users {firm_id} m{month}"] = row[index]
            found[f"mau {firm_id} m{month}"] = mau[index]
    for month, matrix in enumerate(flows, start=1):
        for index, firm_id in enumerate(firm_ids):
            found[f"inflow {firm_id} m{month}"] = matrix[:, index].sum()
            found[f"outflow {firm_id} m{month}"] = matrix[index, :].sum()
    for month, (ties, changed) in enumerate(zip(run["agreeing"], run["changed"], strict=True), 1):
        found[f"friends on the same assistant m{month}"] = ties
        found[f"users on another assistant than at the start m{month}"] = changed
    for index, firm_id in enumerate(firm_ids):
        for segment, count in zip(SEGMENTS, run["by_segment"][index], strict=True):
            found[f"users {firm_id} {segment} m{len(run['users'])}"] = count
    total = flows.sum(axis=0)
    for origin, source in enumerate(names):
        for target, destination in enumerate(names):
            found[f"flow {source}->{destination}"] = total[origin, target]
    return found


def docking_rejections(vectorised: list, reference: list, firm_ids: list[str]) -> list[str]:
    """Statistics whose paired tests reject equality (Holm, family-wise ALPHA)."""
    left = [_statistics(run, firm_ids) for run in vectorised]
    right = [_statistics(run, firm_ids) for run in reference]
    tests: list[tuple[str, float]] = []
    for name in left[0]:
        x = np.array([stat[name] for stat in left], dtype=float)
        y = np.array([stat[name] for stat in right], dtype=float)
        if max(x.mean(), y.mean()) < MIN_MEAN_COUNT:
            continue
        total, difference = x + y, x - y
        tests.append((f"{name} (mean)", sign_flip_pvalue(np.ones_like(total), difference)))
        tests.append((f"{name} (spread)", sign_flip_pvalue(total - total.mean(), difference)))
    return _holm(tests, ALPHA)


def sign_flip_pvalue(weight: np.ndarray, difference: np.ndarray) -> float:
    """p-value of ``sum(weight * difference) = 0`` when each pair could equally have come
    out swapped, which flips the sign of its difference and leaves its total (and so any
    weight made from totals) as it is.

    With weight 1 this tests equal means; with the centred totals it tests that the total
    and the difference are uncorrelated, i.e. equal variances (Pitman-Morgan). Given the
    observed pairs, the statistic is a sum of independent random signs times fixed
    amounts, so Hoeffding's inequality bounds its tail exactly: no assumption on the
    distribution of the counts."""
    amounts = weight * np.abs(difference)
    spread = float(np.sum(amounts**2))
    if spread == 0.0:
        return 1.0
    statistic = float(np.sum(weight * difference))
    return min(1.0, 2.0 * np.exp(-(statistic**2) / (2.0 * spread)))


def _holm(tests: list[tuple[str, float]], alpha: float) -> list[str]:
    rejected = []
    ordered = sorted(tests, key=lambda test: test[1])
    for rank, (name, pvalue) in enumerate(ordered):
        if pvalue > alpha / (len(ordered) - rank):
            break
        rejected.append(f"{name}: p={pvalue:.2g}")
    return rejected


@pytest.fixture(scope="module")
def vectorised(scenario, schedule) -> list[dict]:
    return vectorised_runs(scenario, schedule)


def test_reference_and_population_agree(scenario, schedule, vectorised):
    reference = reference_runs(scenario, schedule, ReferenceUsers)
    assert docking_rejections(vectorised, reference, scenario.firm_ids) == []


def test_the_schedule_moves_users(scenario, vectorised):
    """The docking is only as good as the flows it sees: all the scheduled changes show."""
    totals = sum(run["flows"].sum(axis=0) for run in vectorised)
    firm = {firm_id: index for index, firm_id in enumerate(scenario.firm_ids)}
    assert totals[firm["kimi"], firm["qwen"]] > 0, "the acquisition handed no users over"
    assert totals[firm["ernie"]].sum() > 0.9 * totals[:, firm["ernie"]].sum()
    assert totals[:, firm["deepseek"]].sum() > totals[firm["deepseek"]].sum()
    assert all(run["users"][-1][firm["ernie"]] == 0 for run in vectorised)


class FriendBlindUser(User):
    """Broken on purpose: sees no friends."""

    def friend_shares(self) -> list[float]:
        return [0.0] * self.model.n_firms


class StickinessBlindUser(User):
    """Broken on purpose: the review rate ignores the stickiness of supply."""

    def review_probability(self, firms, rate: float) -> float:
        flight = firms.flight[self.main] if self.main >= 0 else 0.0
        return max(rate * self.inertia, flight)


class SecondaryBlindUser(User):
    """Broken on purpose: uses its main assistant only."""

    def redraw(self, firms):
        main, _ = super().redraw(firms)
        return main, set() if main < 0 else {main}


@pytest.mark.parametrize("broken_user", [FriendBlindUser, StickinessBlindUser, SecondaryBlindUser])
def test_docking_detects_a_broken_reference(scenario, schedule, vectorised, broken_user):
    broken = type(f"Broken{broken_user.__name__}", (ReferenceUsers,), {"agent_class": broken_user})
    reference = reference_runs(scenario, schedule, broken)
    assert docking_rejections(vectorised, reference, scenario.firm_ids)
