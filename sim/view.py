"""What users see of the firms in a month (built by the model, read by the population)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
