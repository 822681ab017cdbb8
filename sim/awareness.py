"""Awareness: per firm and segment, the share of people who know an assistant well enough
to consider it, the channels that feed it and the month-0 fit that sets it.

    a_js <- a*_js + (a_js - a*_js) * exp(-(I_js + delta_j)),   a*_js = I_js / (I_js + delta_j)
    I_js = e0 + rho_reach*reach_j + rho_wom*share_js + rho_m*attention_j
           + rho_news*buzz_j + rho_cash*cash_j

Month 0 fits each firm's forgetting rate ``delta_j`` (how memorable it is), the outside
option ``u0`` and the secondary threshold ``s0`` so that the stationary state of the
month's flows gives the roster's MAU, the share of adopters using no assistant and the MAU
per adopter (docs/model.md, 7.4). The population (``sim/users.py``) holds the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.schema import SEGMENTS, Awareness
from sim.view import MarketView, systematic, utility_table

if TYPE_CHECKING:
    from sim.users import UserPopulation

_FIT_ROUNDS = 300
_FIT_TOLERANCE = 1e-6


@dataclass
class Month0Fit:
    """What the month-0 fit found and how close it came."""

    forgetting: np.ndarray
    awareness: np.ndarray  # (firms, segments)
    outside: float
    secondary: float
    mau_target: np.ndarray
    mau: np.ndarray  # simulated MAU at month 0 (millions)
    active_share: float
    mau_per_adopter: float


@dataclass
class FitState:
    """The quantities the fit moves: forgetting levers, ``u0`` and ``s0``."""

    lever: np.ndarray
    outside: float
    secondary: float


def inflow(
    aw: Awareness,
    reach: np.ndarray,
    attention: np.ndarray,
    buzz: np.ndarray,
    cash_bn: np.ndarray,
    shares: np.ndarray,
) -> np.ndarray:
    """Monthly rate at which each segment's people come to know each firm (firms x
    segments): `reach` per firm, `shares` the firms' main users over each segment's adopters."""
    per_firm = (
        aw.background_exposure
        + aw.reach_exposure * reach
        + aw.marketing_exposure * attention
        + aw.news_exposure * buzz
        + aw.campaign_exposure_per_bn * cash_bn
    )
    return per_firm[:, None] + aw.word_of_mouth * shares


def reach_shares(apps: np.ndarray, home_masks: np.ndarray, cache: dict[int, float]) -> np.ndarray:
    """Share of people using one of each firm's home apps (`apps`: every user's bitmask;
    the same in every segment, as app use is drawn apart from segments), estimated on the
    first 65,536 users once per set of home apps (kept in `cache`)."""
    shares = np.zeros(len(home_masks))
    probe = apps[: min(len(apps), 1 << 16)]
    for firm, mask in enumerate(home_masks):
        key = int(mask)
        if key not in cache:
            uses = (probe & np.asarray(mask).astype(apps.dtype)) != 0
            cache[key] = uses.mean() if key else 0.0
        shares[firm] = cache[key]
    return shares


def advance(state: np.ndarray, rate_in: np.ndarray, forgetting: np.ndarray) -> np.ndarray:
    """One month of awareness: towards what the inflow sustains, at rate inflow + forgetting."""
    rate = rate_in + forgetting[:, None]
    steady = rate_in / rate
    return steady + (state - steady) * np.exp(-rate)


def friends_utility(
    users: UserPopulation, sample: np.ndarray, view: MarketView
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The sampled users' utilities with their friends' actual shares, for the fit with
    friends as drawn. A user's utility for a firm depends only on their cell (segment and
    reach pattern) and how many of their friends used the firm, so the utilities are laid
    out on that grid: firms x (cells found x counts), float64 of the float32 sums the
    users' own would be (``table + social * (count / degree)``), with each column's
    segment and, for each firm, each user's column (`fit_levers`' `element`). Where the
    grid would not be smaller than the sample, the utilities by user and no index."""
    table, cells = utility_table(users, view, aware=False)
    degree = users.neighbors.shape[1]
    found, cell = np.unique(np.take(cells, np.take(users.kind, sample)), return_inverse=True)
    if len(found) * (degree + 1) >= len(sample):
        friends = users._friend_shares(sample)
        utility = systematic(users, sample, view, friends, aware=False)
        return utility.astype(np.float64), users.segment[sample], None
    shares = np.arange(degree + 1, dtype=np.float32)
    shares *= np.float32(1.0 / degree)  # as the users' counts are scaled
    social = (users.choice.b_social * view.social).astype(np.float32)
    grid = table[:, found, None] + social[:, None, None] * shares
    segment = np.repeat(found // (table.shape[1] // len(SEGMENTS)), degree + 1)
    element = users._friend_counts(sample).astype(np.intp)
    element += cell.astype(np.intp) * (degree + 1)
    return grid.reshape(len(table), -1).astype(np.float64), segment, element


def fit_levers(
    aw: Awareness,
    state: FitState,
    utility: np.ndarray,
    segment: np.ndarray,
    rate_in: np.ndarray,
    present: np.ndarray,
    stick: np.ndarray,
    target: np.ndarray,
    column: np.ndarray | None = None,
    element: np.ndarray | None = None,
) -> np.ndarray:
    """Fixed-point iteration of the forgetting levers, ``u0`` and ``s0`` on a sample
    (utility firms x columns, `segment` each column's segment, `column` each sampled
    user's column, or one column per user if None); moves `state` and returns the
    awareness it sustains (firms x segments, 0 for firms not present).

    Users alike share a column: each round's exponentials are taken once per column and
    only the means over the sample read every user, so that the sums, and the fit, are
    those of one column per user. With `element` (firms x users: for each firm, the
    column of each sampled user, the firms' columns apart), users alike for one firm
    share that firm's entry: the exponentials are taken per entry, and each user's
    entries are read before the sums over firms (the no-choice share) and over users."""
    active_target = 1.0 - aw.lapsed_share
    extra_target = max(target.sum() / active_target - 1.0, 1e-6)
    lever = state.lever
    # the rounds reuse these firms x columns buffers (out=), laid out column by column so
    # that every sum runs in the order it has always run (the fit's figures are its own)
    weighted, main, second, rest = (np.empty_like(utility, order="F") for _ in range(4))
    if element is not None:
        # each user's entries: gathered into these firms x users buffers (users' rows
        # of firms contiguous, as the buffers have always been laid out)
        weighted, main, second = (np.empty(utility.shape) for _ in range(3))
        rest, gathered_main, gathered_second = (
            np.empty(element.shape, order="F") for _ in range(3)
        )
        # flat places in the firms x columns arrays, users x firms as the buffers' rows
        places = np.ascontiguousarray(
            (element + (np.arange(len(element)) * utility.shape[1])[:, None]).T
        )
    entries_main, entries_second = main, second
    for _ in range(_FIT_ROUNDS):
        main, second = entries_main, entries_second
        forgetting = aw.forget * np.exp(-lever)
        awareness = rate_in / (rate_in + forgetting[:, None])
        # log awareness per (firm, segment), read for each column
        np.add(utility, np.log(np.maximum(awareness, 1e-300))[:, segment], out=weighted)
        weighted[~present] = -np.inf
        np.subtract(weighted, state.outside, out=main)
        np.exp(main, out=main)
        main /= stick
        np.subtract(state.secondary, weighted, out=second)
        np.exp(second, out=second)
        second += 1.0
        p_second = np.divide(1.0, second, out=second)
        if element is not None:
            main = np.take(main, places, out=gathered_main.T, mode="clip").T
            p_second = np.take(p_second, places, out=gathered_second.T, mode="clip").T
        denominator = main.sum(axis=0) + 1.0
        p_main = np.divide(main, denominator, out=main)
        p_none = np.divide(1.0, denominator, out=denominator)
        # p_main + p_second * (1 - p_none - p_main)
        np.subtract(1.0 - p_none, p_main, out=rest)
        rest *= p_second
        rest += p_main
        used, lapsed = rest, p_none
        if column is not None:
            used, lapsed = np.asfortranarray(rest[:, column]), p_none[column]
        mau = used.mean(axis=1)
        active = 1.0 - lapsed.mean()
        extra = mau.sum() / active - 1.0
        step = np.zeros(len(lever))
        step[present] = np.log(target[present] / np.maximum(mau[present], 1e-12))
        lever += step
        state.outside += np.log(active / active_target) / (1.0 - active_target)
        state.secondary += 0.5 * np.log(max(extra, 1e-9) / extra_target)
        if np.abs(step).max() < _FIT_TOLERANCE and abs(active - active_target) < 1e-6:
            break
    forgetting = aw.forget * np.exp(-lever)
    sustained = rate_in / (rate_in + forgetting[:, None])
    sustained[~present] = 0.0
    return sustained
