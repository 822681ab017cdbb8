"""Market metrics derived from shares: concentration and the weight of each tier."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def hhi(shares: Iterable[float]) -> float:
    """Herfindahl-Hirschman index of shares given as fractions (0-1; 1 is a monopoly)."""
    values = np.asarray(list(shares), dtype=float)
    total = values.sum()
    if total <= 0:
        return 0.0
    return float(((values / total) ** 2).sum())


def top_share(shares: Iterable[float], k: int = 3) -> float:
    """Combined share of the `k` largest (fractions)."""
    values = np.sort(np.asarray(list(shares), dtype=float))[::-1]
    total = values.sum()
    return float(values[:k].sum() / total) if total > 0 else 0.0
