"""The array routines of the users' month against plain counts and exact laws: friends'
uses counted in packed counters, kinds and reach patterns, the logit draw of main and
secondary assistants, reviewers drawn by thinning, the social graph's places and the month-0
fit on columns of alike users (docs/performance.md)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.awareness import FitState, fit_levers
from sim.choice import NONE, draw_months, pack_rows, running_sum
from sim.scenario import load_scenario
from sim.social import (
    CHUNK,
    below_float32,
    categories,
    friend_counts,
    social_graph,
    thinning_candidates,
    uniform_words,
)
from sim.users import UserPopulation
from sim.view import kinds

# a z-score beyond this is a real difference (about 1 in 16,000 by chance)
Z = 4.0


@pytest.mark.parametrize(("degree", "firms"), [(12, 16), (12, 5), (12, 32), (15, 21), (20, 16)])
def test_friend_counts_match_a_plain_count(degree, firms):
    rng = np.random.default_rng(degree * 100 + firms)
    n = 3000
    ties = rng.integers(0, n, size=(n, degree), dtype=np.int32)
    flags = rng.random((n, firms)) < 0.3
    masks = (flags * (1 << np.arange(firms, dtype=np.int64))).sum(axis=1).astype(np.uint32)
    who = rng.choice(n, 500)
    out = np.full((firms, len(who)), -1.0, dtype=np.float32)
    friend_counts(masks, ties[who], firms, out)
    expected = flags[ties[who]].sum(axis=1).T
    np.testing.assert_array_equal(out, expected)


def test_kinds_number_users_as_sorting_would():
    rng = np.random.default_rng(3)
    segment = rng.integers(0, 5, 20000).astype(np.int8)
    apps = rng.integers(0, 1 << 14, 20000).astype(np.uint16)
    kind, kind_segment, kind_apps = kinds(segment, apps, 14)
    found, number = np.unique(segment.astype(np.int64) << 32 | apps, return_inverse=True)
    np.testing.assert_array_equal(kind, number)
    np.testing.assert_array_equal(kind_segment, found >> 32)
    np.testing.assert_array_equal(kind_apps, found & 0xFFFFFFFF)


@pytest.mark.parametrize("rows", [3, 16, 32])
def test_rows_pack_and_add_up_as_numpy_would(rows):
    rng = np.random.default_rng(rows)
    flags = rng.random((rows, 1000)) < 0.5
    packed = np.packbits(flags, axis=0, bitorder="little")
    masks = np.zeros((1000, 4), dtype=np.uint8)
    masks[:, : len(packed)] = packed.T
    np.testing.assert_array_equal(pack_rows(flags), masks.view(np.uint32).ravel())
    values = rng.random((rows, 1000)).astype(np.float32)
    np.testing.assert_allclose(running_sum(values.copy()), np.cumsum(values, axis=0), rtol=1e-6)


def test_the_logit_draw_follows_its_law():
    """Main assistant: ``w_j / (outside + sum w)``; each secondary: ``w / (1 + w)``."""
    rng = np.random.default_rng(11)
    weighted = np.log(np.array([2.0, 0.5, 0.05, 1e-3], dtype=np.float32))
    outside = 1.5
    choosers = 100_000  # more than a block
    main, used = draw_months(np.repeat(weighted[:, None], choosers, axis=1), rng, outside)
    weights = np.exp(weighted.astype(np.float64))
    p_main = np.append(weights, outside) / (weights.sum() + outside)
    counts = np.bincount(np.where(main == NONE, len(weights), main), minlength=len(p_main))
    z = (counts - choosers * p_main) / np.sqrt(choosers * p_main * (1 - p_main))
    assert np.abs(z).max() < Z, z
    bits = (used[:, None] >> np.arange(len(weights), dtype=np.uint32)) & 1
    assert (bits[np.arange(choosers)[main >= 0], main[main >= 0]] == 1).all()
    assert (used[main == NONE] == 0).all()
    # among users whose main is another firm, firm k is used with probability w / (1 + w)
    p_second = weights / (1.0 + weights)
    for firm, p in enumerate(p_second):
        others = (main != firm) & (main != NONE)
        seen = bits[others, firm].sum()
        z = (seen - others.sum() * p) / np.sqrt(others.sum() * p * (1 - p))
        assert abs(z) < Z, (firm, z)


def test_thinning_keeps_sure_candidates_apart():
    rng = np.random.default_rng(5)
    always = np.array([3, 10, 11, 500])
    candidates, bound = thinning_candidates(1000, 0.1, always, rng)
    assert set(always) <= set(candidates.tolist())
    assert len(np.unique(candidates)) == len(candidates)
    np.testing.assert_array_equal(bound[np.isin(candidates, always)], 1.0)
    np.testing.assert_array_equal(bound[~np.isin(candidates, always)], np.float32(0.1))


@pytest.fixture(scope="module")
def placed() -> tuple[UserPopulation, object]:
    """A small placed population, a fifth of its adopters made trial users."""
    from sim.model import AIMarket

    scenario = load_scenario("sprint_race", {"run.users": 4000, "run.startups": 200})
    model = AIMarket(scenario, rng=2)
    users, view = model.users, model.market_view()
    adopters = users.n_adopters
    trial = np.flatnonzero(np.random.default_rng(1).random(adopters) < 0.2)
    users.paid[trial] = users.used[trial]
    users._trial_users = trial
    view.flight[1] = 0.5
    return users, view


def _review_z(users: UserPopulation, view, rate: float, rounds: int) -> dict[str, float]:
    """z-scores of the reviews counted over `rounds` draws against each adopter's exact
    probability, for trial users, a collapsing firm's users and the rest."""
    adopters = users.n_adopters
    seen = np.zeros(adopters)
    for _ in range(rounds):
        seen[users.reviewers(view, rate)] += 1
    main = users.main[:adopters]
    review = np.append(rate * view.stickiness, rate)[main] * users.inertia[:adopters]
    own = ((users.paid[:adopters] >> np.maximum(main, 0).astype(np.uint32)) & 1) == 1
    trial = own & (main >= 0)
    p = np.maximum(review, np.append(view.flight, 0.0)[main])
    p = np.where(trial, np.maximum(p, np.append(view.trial_review_rate, 0.0)[main]), p)
    groups = {"trial": trial, "flight": main == 1, "rest": ~trial & (main != 1)}
    return {
        name: float(
            (seen[g].sum() - rounds * p[g].sum()) / np.sqrt(rounds * (p * (1 - p))[g].sum())
        )
        for name, g in groups.items()
    }


def test_reviewers_follow_each_adopters_rate(placed):
    users, view = placed
    z = _review_z(users, view, 0.06, 300)
    assert max(abs(value) for value in z.values()) < Z, z


def test_reviewers_without_sure_candidates_are_caught(placed, monkeypatch):
    """Trial and flight rates above the bound need their users drawn apart: without them
    those users review too rarely, and the test above would see it."""
    users, view = placed
    monkeypatch.setattr("sim.users.fast_reviewers", lambda *args: np.empty(0, dtype=np.int64))
    z = _review_z(users, view, 0.06, 300)
    assert z["trial"] < -Z and z["flight"] < -Z, z


@pytest.mark.parametrize(("n", "community"), [(70_001, 200), (1_000, 7), (5, 200)])
def test_social_graph_places_friends_as_float_uniforms_would(n, community):
    """The graph's exact integer route to each friend's place gives what 48-bit float64
    uniforms times the community's size (or n) give, the draws read in the same order."""
    degree, within = 12, 0.8
    graph = social_graph(n, degree, community, within, np.random.default_rng(n))
    rng = np.random.default_rng(n)
    member_at = np.arange(n, dtype=np.int32)
    rng.shuffle(member_at)
    expected = np.empty((n, degree), dtype=np.int32)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        bits = rng.bit_generator.random_raw((stop - start, degree))
        inside = (bits & np.uint64(0xFFFF)) < np.uint64(round(within * (1 << 16)))
        uniform = (bits >> np.uint64(16)).astype(np.float64) * 2.0**-48
        block = np.arange(start, stop)[:, None] // community * community
        local = member_at[block + (uniform * np.minimum(community, n - block)).astype(np.int64)]
        expected[member_at[start:stop]] = np.where(inside, local, (uniform * n).astype(np.int64))
    np.testing.assert_array_equal(graph, expected)


def test_fit_on_columns_is_the_fit_on_every_user():
    """The month-0 fit on one column per group of alike users, with each user's column,
    is the fit on one column per user to the bit."""
    aw = load_scenario("sprint_race").awareness
    rng = np.random.default_rng(4)
    firms, segments, users = 6, 5, 3000
    columns = rng.normal(1.0, 1.0, size=(firms, 40))
    column = rng.integers(0, 40, size=users)
    segment = rng.integers(0, segments, size=40).astype(np.int8)
    rate_in = rng.uniform(0.05, 0.5, size=(firms, segments))
    present = np.array([True, True, True, True, True, False])
    stick = rng.uniform(0.5, 1.5, size=(firms, 1))
    target = np.array([0.3, 0.2, 0.1, 0.05, 0.02, 0.0])

    def fit(*data):
        state = FitState(lever=np.zeros(firms), outside=0.0, secondary=2.0)
        awareness = fit_levers(aw, state, *data[:2], rate_in, present, stick, target, *data[2:])
        return awareness, state.lever, state.outside, state.secondary

    grouped = fit(columns, segment, column)
    every = fit(columns[:, column], segment[column])
    for one, other in zip(grouped, every, strict=True):
        np.testing.assert_array_equal(one, other)
    assert not np.array_equal(fit(columns, segment, column[::-1])[1], grouped[1])


@pytest.mark.parametrize("generator", [np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937])
@pytest.mark.parametrize(("n", "before"), [(1, 0), (7, 1), (1000, 3), (70_001, 0), (5, 2)])
def test_uniform_words_are_numpys_float32_uniforms(generator, n, before):
    """The integers read from the raw draws are numpy's float32 uniforms times 2^24, with a
    half-word held over or not, and leave the generator where numpy's draw leaves it."""
    fast, slow = (np.random.Generator(generator(n)) for _ in range(2))
    for rng in (fast, slow):
        rng.random(before, dtype=np.float32)  # an odd count holds a half-word over
    words = uniform_words(fast, n)
    uniforms = slow.random(n, dtype=np.float32)
    np.testing.assert_array_equal(words.astype(np.float32) * np.float32(2.0**-24), uniforms)
    assert words.dtype == np.uint32 and int(words.max(initial=0)) < 1 << 24
    np.testing.assert_array_equal(fast.random(9, dtype=np.float32), slow.random(9, np.float32))
    assert fast.random() == slow.random()


@pytest.mark.parametrize("p", [0.0, 1e-9, 0.05, 1 / 3, 0.5, 0.7, 1 - 1e-8, 1.0, 1.5, -0.1])
def test_below_float32_is_numpys_float32_comparison(p):
    rng = np.random.default_rng(11)
    words = uniform_words(rng, 200_000)
    # the words next to the boundary too
    edge = int(np.ceil(float(np.float32(min(max(p, 0.0), 1.0))) * 2**24))
    words = np.concatenate([words, np.arange(max(edge - 3, 0), min(edge + 3, 1 << 24))])
    words = words.astype(np.uint32)
    expected = words.astype(np.float32) * np.float32(2.0**-24) < p
    np.testing.assert_array_equal(below_float32(words, p), expected)


@pytest.mark.parametrize("p", [[0.3, 0.25, 0.2, 0.15, 0.1], [0.5, 0.0, 0.5], [1.0], [0.1] * 10])
@pytest.mark.parametrize("n", [1, 999, 100_000])
def test_categories_are_numpys_choice(p, n):
    fast, slow = np.random.default_rng(n), np.random.default_rng(n)
    drawn = categories(fast, np.array(p), n)
    np.testing.assert_array_equal(drawn, slow.choice(len(p), size=n, p=p))
    assert drawn.dtype == np.int8 and fast.random() == slow.random()


def test_fit_on_a_grid_of_entries_is_the_fit_on_every_user():
    """The month-0 fit with one entry per (firm, group of users alike for that firm), each
    user's entry for each firm read before the sums, is the fit on one column per user."""
    aw = load_scenario("sprint_race").awareness
    rng = np.random.default_rng(5)
    firms, segments, users, entries = 6, 5, 3000, 40
    grid = rng.normal(1.0, 1.0, size=(firms, entries))
    segment = rng.integers(0, segments, size=entries).astype(np.int8)
    # an entry's segment is every firm's: a user's entries share one segment
    by_segment = [np.flatnonzero(segment == s) for s in range(segments)]
    user_segment = rng.integers(0, segments, size=users)
    element = np.stack(
        [np.array([rng.choice(by_segment[s]) for s in user_segment]) for _ in range(firms)]
    )
    rate_in = rng.uniform(0.05, 0.5, size=(firms, segments))
    present = np.array([True, True, True, True, False, True])
    stick = rng.uniform(0.5, 1.5, size=(firms, 1))
    target = np.array([0.3, 0.2, 0.1, 0.05, 0.0, 0.02])

    def fit(utility, seg, element=None):
        state = FitState(lever=np.zeros(firms), outside=0.0, secondary=2.0)
        awareness = fit_levers(
            aw, state, utility, seg, rate_in, present, stick, target, element=element
        )
        return awareness, state.lever, state.outside, state.secondary

    on_grid = fit(grid, segment, element)
    every = fit(np.take_along_axis(grid, element, axis=1), user_segment)
    for one, other in zip(on_grid, every, strict=True):
        np.testing.assert_array_equal(one, other)
    assert not np.array_equal(fit(grid, segment, element[:, ::-1])[1], on_grid[1])
