"""What users see of the firms in a month (built by the model, read by the population)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.users import UserPopulation


@dataclass
class MarketView:
    """What users see of the firms this month: one entry per firm, in roster order."""

    quality: np.ndarray
    supply: np.ndarray
    social: np.ndarray
    attention: np.ndarray  # marketing stock (log units)
    buzz: np.ndarray  # news stock
    cash_bn: np.ndarray  # cash campaigns paid out this month
    fit: np.ndarray  # (firms, segments)
    home_mask: np.ndarray  # uint64 bitmask of home apps
    choosable: np.ndarray  # bool: open to users
    stickiness: np.ndarray  # multiplier of the review rate for the firm's main users
    flight: np.ndarray  # review rate forced on the firm's users (collapse)
    trial_review_rate: np.ndarray  # review rate of the firm's trial (campaign) users
    forgetting: np.ndarray  # forgetting rate of firms that enter in the run (0: fitted)


def kinds(
    segment: np.ndarray, apps: np.ndarray, n_apps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Users alike in segment and home apps, numbered in the order of (segment, apps):
    each user's kind (int32) and each kind's segment and home apps. Counted in a table of
    every possible kind while it is small, else sorted out (the same numbering)."""
    if len(segment) and (int(segment.max()) + 1) << n_apps <= 1 << 24:
        key = segment.astype(np.int32) << n_apps | apps.astype(np.int32)
        present = np.bincount(key, minlength=1) > 0
        number = np.cumsum(present, dtype=np.int32) - 1
        found = np.flatnonzero(present)
        return (
            number[key],
            (found >> n_apps).astype(np.intp),
            (found & ((1 << n_apps) - 1)).astype(apps.dtype),
        )
    key = segment.astype(np.int64) << 32 | apps.astype(np.int64)
    found, kind = np.unique(key, return_inverse=True)
    return (
        kind.astype(np.int32),
        (found >> 32).astype(np.intp),
        (found & 0xFFFFFFFF).astype(apps.dtype),
    )


def reach_patterns(
    home_mask: np.ndarray, kind_apps: np.ndarray, cache: dict[bytes, tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Which firms reach users through their home apps, as patterns: for each pattern the
    firms whose home apps it holds (firms x patterns, float: 1 reached, 0 not), and the
    pattern of each kind of user (by the home apps in `kind_apps`). Few patterns exist
    (only firms with home apps tell users apart); computed once per set of home masks and
    kept in `cache`."""
    key = home_mask.tobytes()
    if key not in cache:
        reached = (home_mask.astype(kind_apps.dtype)[:, None] & kind_apps[None, :]) != 0
        code = np.zeros(len(kind_apps), dtype=np.int64)
        for firm, row in enumerate(reached):
            code |= row.astype(np.int64) << firm
        codes, pattern = np.unique(code, return_inverse=True)
        firms = np.arange(len(home_mask), dtype=np.int64)[:, None]
        cache[key] = ((codes[None, :] >> firms) & 1).astype(np.float64), pattern.astype(np.intp)
    return cache[key]


def utility_table(
    users: UserPopulation, view: MarketView, *, aware: bool = True, centre: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The utility of each firm plus log awareness (without it if not `aware`) less
    `centre`, without friends and noise, by cell (firms x cells, float32; firms closed to
    users at minus infinity), and the cell of each of the `users`' kinds: users alike in
    segment and in which firms' home apps they use see the firms alike."""
    p = users.choice
    per_firm = p.b_quality * view.quality + p.b_marketing * view.attention - centre
    with np.errstate(divide="ignore"):
        by_segment = (
            per_firm[:, None]
            + p.b_supply * view.supply[:, None] * users.need[None, :]
            + p.b_match * view.fit
            + (np.log(users.awareness_state) if aware else 0.0)
        )
    by_segment[~view.choosable] = -np.inf
    reached, pattern = reach_patterns(view.home_mask, users.kind_apps, users.patterns)
    table = by_segment[:, :, None] + p.b_reach * reached[:, None, :]
    cells = users.kind_segment * reached.shape[1] + pattern
    return table.reshape(len(per_firm), -1).astype(np.float32), cells


def systematic(
    users: UserPopulation,
    who: np.ndarray,
    view: MarketView,
    friends: np.ndarray,
    *,
    aware: bool = True,
) -> np.ndarray:
    """Utility plus log awareness (without it if not `aware`), without noise, firms x
    `users` in `who` (float32), with `friends` the shares of their friends who used each
    firm (firms x users, or per firm the same for all: then added to each cell once);
    firms closed to users at minus infinity."""
    table, cells = utility_table(users, view, aware=aware)
    social = (users.choice.b_social * view.social).astype(np.float32)[:, None]
    if friends.ndim == 1:
        table += social * friends[:, None]
    utility = np.take(table, np.take(cells, np.take(users.kind, who)), axis=1)
    if friends.ndim == 2:
        utility += social * friends
    return utility
