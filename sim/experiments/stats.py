"""Every statistic the experiments report, from their tables.

* :func:`wilson_interval`: the Wilson score interval of a proportion;
* :func:`bootstrap_band`: a percentile band of a mean over bootstrap resamples of rows;
* :func:`percentiles`: p5-p95 of firm and market metrics per month over replicates;
* :func:`survival_curves`: per tier and month, the share of firms still clear of the kill
  line, with a bootstrap band over replicates;
* :func:`tier_survival`, :func:`firm_summary`, :func:`outcome_summary`: an ensemble's
  summaries;
* :func:`point_means`: a sweep's mean outcome at each point with a Student-t interval.

The ensemble's summaries read its firm fates (``sim.fates.fates``: one row per
(replicate, firm)), the one account of who crossed the kill line and who left, and when.

Every interval and band is at :data:`CONFIDENCE`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.fates import order_by_tier, tiers_present
from sim.outcomes import OUTCOMES
from sim.schema import EXITED, IN_MARKET

PERCENTILES = (5, 25, 50, 75, 95)
FIRM_METRICS = ("share", "capital_bn", "distance_to_kill_line")
CONFIDENCE = 0.95  # of every interval and band an ensemble, sweep or analysis reports
BOOTSTRAP_RESAMPLES = 1000


def percentiles(firms: pd.DataFrame, market: pd.DataFrame) -> pd.DataFrame:
    """Percentiles over replicates, tidy: one row per (scope, firm, month, metric).

    ``scope`` is ``firm`` (share, capital_bn and distance_to_kill_line of each firm) or
    ``market`` (every numeric market column; ``firm`` is empty). Columns: ``mean``, ``p5``,
    ``p25``, ``p50``, ``p75``, ``p95``.
    """
    quantiles = [p / 100 for p in PERCENTILES]
    labels = [f"p{p}" for p in PERCENTILES]
    dates = firms.drop_duplicates("month").set_index("month")["date"]
    market_metrics = [
        column
        for column in market.columns
        if column not in ("replicate", "seed", "month")
        and pd.api.types.is_numeric_dtype(market[column])
    ]
    pieces = []
    for scope, table, keys, metrics in (
        ("firm", firms, ["firm", "month"], FIRM_METRICS),
        ("market", market, ["month"], market_metrics),
    ):
        for metric in metrics:
            grouped = table.groupby(keys, sort=False)[metric]
            spread = grouped.quantile(quantiles).unstack()
            spread.columns = labels
            spread.insert(0, "mean", grouped.mean())
            spread = spread.reset_index()
            spread.insert(0, "scope", scope)
            spread["metric"] = metric
            pieces.append(spread)
    table = pd.concat(pieces, ignore_index=True)
    table["firm"] = table["firm"].fillna("")
    table["date"] = table["month"].map(dates)
    return table[["scope", "firm", "month", "date", "metric", "mean", *labels]]


def survival_curves(fates: pd.DataFrame, firms: pd.DataFrame) -> pd.DataFrame:
    """Per tier and month, the probability that a firm of the tier has neither crossed the
    kill line nor left the market, with a 95% band.

    The curve is the mean over replicates of each replicate's share of the tier's firms
    still clear; the band is the 2.5-97.5 percentile range of that mean over bootstrap
    resamples of whole replicates (firms of one replicate are not independent).

    Args:
        fates: the ensemble's firm fates (sim.fates.fates), one row per (replicate, firm).
        firms: the ensemble's firm table (for the months and their dates).
    """
    months = np.sort(firms["month"].unique())
    dates = firms.drop_duplicates("month").set_index("month")["date"]
    rng = np.random.default_rng(0)  # a fixed stream: the band is part of the results
    pieces = []
    for tier in tiers_present(fates["tier"]):
        members = fates[fates["tier"] == tier]
        end = members.pivot(index="replicate", columns="firm", values="end_month")
        end = end.astype("Float64").fillna(np.inf).to_numpy(dtype=float)
        clear = (end[:, :, None] > months[None, None, :]).mean(axis=1)  # replicate x month
        runs = clear.shape[0]
        low, high = bootstrap_band(clear, rng)
        pieces.append(
            pd.DataFrame(
                {
                    "tier": tier,
                    "month": months,
                    "date": dates.reindex(months).to_numpy(),
                    "survival": clear.mean(axis=0),
                    "low": low,
                    "high": high,
                    "firms": end.shape[1],
                    "replicates": runs,
                }
            )
        )
    return pd.concat(pieces, ignore_index=True)


def bootstrap_band(
    rows: np.ndarray, rng: np.random.Generator, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The percentile band of the mean of ``rows`` (axis 0) over
    :data:`BOOTSTRAP_RESAMPLES` resamples of whole rows drawn with replacement."""
    count = rows.shape[0]
    alpha = (1.0 - confidence) / 2.0
    weights = rng.multinomial(count, np.full(count, 1.0 / count), size=BOOTSTRAP_RESAMPLES)
    boot = weights @ rows / count
    low, high = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    return low, high


def wilson_interval(
    successes: float, trials: float, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if trials <= 0:
        return (math.nan, math.nan)
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= trials else min(1.0, centre + half)
    return (low, high)


def tier_survival(fates: pd.DataFrame) -> pd.DataFrame:
    """Per tier: the share of its firms still in the market at the horizon, pooled over
    replicates and firms, with a 95% Wilson interval, and the share that crossed the kill
    line. The interval treats every (replicate, firm) as a trial; firms of one replicate
    share a market, so it is a lower bound on the uncertainty."""
    rows = []
    for tier in tiers_present(fates["tier"]):
        members = fates[fates["tier"] == tier]
        alive = int(members["status_end"].isin(IN_MARKET).sum())
        trials = len(members)
        low, high = wilson_interval(alive, trials)
        rows.append(
            {
                "tier": tier,
                "firms": members["firm"].nunique(),
                "trials": trials,
                "survival": alive / trials,
                "low": low,
                "high": high,
                "crossed": float(members["crossed_month"].notna().mean()),
            }
        )
    return pd.DataFrame(rows)


def firm_summary(fates: pd.DataFrame) -> pd.DataFrame:
    """Per firm: probabilities of crossing the kill line, of each exit kind and of being in
    the market at the horizon; median exit month (over replicates where it left); median
    share at the horizon."""
    grouped = fates.groupby("firm", sort=False)
    table = pd.DataFrame(
        {
            "name": grouped["name"].first(),
            "tier": grouped["tier"].first(),
            "p_crossed": grouped["crossed_month"].agg(lambda s: s.notna().mean()),
            **{
                f"p_{kind}": grouped["exit"].agg(lambda s, kind=kind: (s == kind).mean())
                for kind in EXITED
            },
            "p_in_market": grouped["status_end"].agg(lambda s: s.isin(IN_MARKET).mean()),
            "median_exit_month": grouped["exit_month"]
            .agg(lambda s: float(s.dropna().median()) if s.notna().any() else math.nan)
            .astype(float),
            "median_share_end": grouped["share_end"].median(),
        }
    )
    return order_by_tier(table, "median_share_end", ascending=False).reset_index()


def outcome_summary(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and p5/p50/p95 of each outcome over the replicates."""
    columns = [name for name in OUTCOMES if name in outcomes]
    values = outcomes[columns]
    return (
        pd.DataFrame(
            {
                "mean": values.mean(),
                "sd": values.std(ddof=1) if len(values) > 1 else 0.0,
                "p5": values.quantile(0.05),
                "p50": values.quantile(0.5),
                "p95": values.quantile(0.95),
            }
        )
        .rename_axis("outcome")
        .reset_index()
    )


def point_means(table: pd.DataFrame, parameters: Sequence[str]) -> pd.DataFrame:
    """Mean of every outcome at every point, with a 95% Student-t confidence interval over
    the replicates; tidy: one row per (point, outcome).

    Args:
        table: a sweep's runs: one row per (point, replicate), the parameters and outcomes.
        parameters: the key paths swept (columns of ``table``).
    """
    parameters = list(parameters)
    from scipy import stats

    outcomes = [name for name in OUTCOMES if name in table]
    long = table.melt(
        id_vars=["point", *parameters], value_vars=outcomes, var_name="outcome", value_name="value"
    )
    grouped = long.groupby(["point", "outcome"], sort=False)
    means = grouped["value"].agg(["mean", "std", "count"]).reset_index()
    settings = table.drop_duplicates("point").set_index("point")[parameters]
    means = means.join(settings, on="point")
    t = means["count"].map(
        lambda n: stats.t.ppf(0.5 + CONFIDENCE / 2.0, n - 1) if n > 1 else math.nan
    )
    half = t * means["std"].fillna(0.0) / means["count"].pow(0.5)
    means["ci_low"] = means["mean"] - half
    means["ci_high"] = means["mean"] + half
    means = means.rename(columns={"std": "sd", "count": "n"})
    return means[["point", *parameters, "outcome", "mean", "sd", "n", "ci_low", "ci_high"]]
