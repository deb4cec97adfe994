"""Item questions (分项): where the home county loses points against the city and the strive county, and what to fix first.

Every function takes tables and returns tables, so the 分项指标 page only renders.
Scores follow the county rule (survey-weighted mean of points over scored answers);
the comparison tests treat counties as independent samples, like the ranking page.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.drivers import importance_performance, item_importance
from analysis.scoring import item_points_frame, scores_from_counts
from analysis.stats import grouped_score_table, holm_adjust

ITEM_SCORE_COLUMNS = ["item", "n", "n_excluded", "unknown_share", "score", "se", "ci_low", "ci_high", "n_eff", "weight_total"]
ALPHA = 0.05


def _weights(responses: pd.DataFrame) -> pd.Series:
    """Survey weights, 1 where the file had none."""
    if "weight" not in responses.columns:
        return pd.Series(1.0, index=responses.index)
    return responses["weight"].astype("float64").fillna(1.0)


def item_points_long(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float],
                     by: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per respondent × item: the `by` columns, item, points (NaN if not scored) and weight."""
    present = [i for i in items if i in responses.columns]
    scored = item_points_frame(responses, tuple(present), points)[present]
    wide = scored.assign(**{c: responses[c] for c in by}, weight=_weights(responses))
    long = wide.melt(id_vars=[*by, "weight"], value_vars=present, var_name="item", value_name="points")
    return long.assign(item=long["item"].astype("str"))


def item_scores(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float],
                by: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per item (and `by` group): n, unscored count and share, weighted score, SE, 95% CI, n_eff, Σ weights."""
    columns = [*by, *ITEM_SCORE_COLUMNS]
    long = item_points_long(responses, items, points, by)
    if long.empty:
        return pd.DataFrame(columns=columns)
    table = grouped_score_table(long, [*by, "item"], value="points", weight="weight")
    # Σw over scored answers: the share of a township inside its county needs it (see city_mean_gap).
    scored_weight = long.assign(_w=long["weight"].where(long["points"].notna(), 0.0))
    totals = scored_weight.groupby([*by, "item"], sort=True, dropna=False)["_w"].sum().reset_index(name="weight_total")
    table = table.merge(totals, on=[*by, "item"], how="left")
    answered = table["n"] + table["n_excluded"]
    table = table.assign(unknown_share=(table["n_excluded"] / answered.where(answered > 0)).astype("float64"))
    order = {item: k for k, item in enumerate(items)}
    return (table.assign(_order=table["item"].map(order)).sort_values([*by, "_order"])
            .drop(columns="_order")[columns].reset_index(drop=True))


def item_scores_from_counts(counts: pd.DataFrame, items: tuple[str, ...], points: dict[str, float]) -> pd.DataFrame:
    """item_scores(..., by=("county",)) computed from per-county, per-item answer counts and weight sums (store.item_answer_counts)."""
    columns = ["county", *ITEM_SCORE_COLUMNS]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    table = scores_from_counts(counts, points, ["county", "item"], "answer")
    answered = table["n"] + table["n_excluded"]
    order = {item: k for k, item in enumerate(items)}
    table = table.assign(unknown_share=(table["n_excluded"] / answered.where(answered > 0)).astype("float64"),
                         _order=table["item"].map(order))
    return table.sort_values(["county", "_order"]).drop(columns="_order")[columns].reset_index(drop=True)


def benchmark_county(overall: pd.DataFrame, home: str, k: int) -> str | None:
    """The county with the k-th highest overall score among the others (the county to beat for 第k名)."""
    others = overall.loc[overall["county"] != home].sort_values(["score", "county"], ascending=[False, True])
    return None if k > len(others) or k < 1 else str(others["county"].iloc[k - 1])


def city_mean_gap(home_items: pd.DataFrame, county_items: pd.DataFrame, home: str) -> pd.DataFrame:
    """Per item: city mean (plain mean over counties), home minus it, its SE, z and two-sided p.

    The home county is inside the city mean, so the difference is not between
    independent samples. With s = the home sample's share of its county's weight
    (1 when no township is filtered) and K counties,
    Var(h_S − m) = Var(h_S)(1 − 2s/K) + Σ_k Var(h_k)/K²,
    which is Var(h)(1 − 1/K)² + Σ_others Var/K² for the whole county.
    """
    city = county_items.groupby("item", sort=False).agg(
        city_mean=("score", "mean"), n_counties=("score", "count"),
        _var_sum=("se", lambda se: float(np.nansum(np.square(se)))))
    home_full = county_items.loc[county_items["county"] == home, ["item", "weight_total"]].rename(
        columns={"weight_total": "_home_weight"})
    out = home_items[["item", "score", "se", "weight_total"]].merge(city.reset_index(), on="item", how="left")
    out = out.merge(home_full, on="item", how="left")
    k = out["n_counties"].astype("float64")
    share = (out["weight_total"] / out["_home_weight"]).clip(upper=1.0).fillna(0.0)
    var = out["se"] ** 2 * (1 - 2 * share / k) + out["_var_sum"] / k**2
    gap = out["score"] - out["city_mean"]
    se_gap = np.sqrt(var.where(var > 0))
    z = gap / se_gap
    return pd.DataFrame({"item": out["item"], "city_mean": out["city_mean"], "gap_city": gap, "se_gap_city": se_gap,
                         "z_city": z, "p_city": 2.0 * sps.norm.sf(np.abs(z))})


def strive_gap(home_items: pd.DataFrame, county_items: pd.DataFrame, benchmark: str | None) -> pd.DataFrame:
    """Per item: the benchmark county's score and SE, home minus it, z and two-sided p (independent samples)."""
    columns = ["item", "strive_score", "strive_se", "gap_strive", "se_gap_strive", "z_strive", "p_strive"]
    if benchmark is None:
        return home_items[["item"]].assign(**{c: np.nan for c in columns[1:]})
    bench = county_items.loc[county_items["county"] == benchmark, ["item", "score", "se"]].rename(
        columns={"score": "strive_score", "se": "strive_se"})
    out = home_items[["item", "score", "se"]].merge(bench, on="item", how="left")
    gap = out["score"] - out["strive_score"]
    se_gap = np.sqrt(out["se"] ** 2 + out["strive_se"] ** 2)
    z = gap / se_gap
    return out.assign(gap_strive=gap, se_gap_strive=se_gap, z_strive=z, p_strive=2.0 * sps.norm.sf(np.abs(z)))[columns]


def _verdict(gap: pd.Series, p_holm: np.ndarray) -> pd.Series:
    """显著偏高 / 显著偏低 / 差异不显著 (NaN p: 无法检验)."""
    gap_a = gap.to_numpy(dtype="float64", na_value=np.nan)
    label = np.select([np.isnan(p_holm), (p_holm < ALPHA) & (gap_a > 0), (p_holm < ALPHA) & (gap_a < 0)],
                      ["无法检验", "显著偏高", "显著偏低"], default="差异不显著")
    return pd.Series(pd.array(label, dtype="str"), index=gap.index)


def item_benchmarks(home_items: pd.DataFrame, county_items: pd.DataFrame, home: str, benchmark: str | None) -> pd.DataFrame:
    """Home item scores with CI beside the city mean and the benchmark county, Holm-adjusted across items."""
    out = (home_items.merge(city_mean_gap(home_items, county_items, home), on="item", how="left")
           .merge(strive_gap(home_items, county_items, benchmark), on="item", how="left"))
    p_city, p_strive = holm_adjust(out["p_city"]), holm_adjust(out["p_strive"])
    return out.assign(p_city_holm=p_city, verdict_city=_verdict(out["gap_city"], p_city),
                      p_strive_holm=p_strive, verdict_strive=_verdict(out["gap_strive"], p_strive),
                      strive_county=benchmark)


def item_drivers(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float]) -> pd.DataFrame:
    """Relative-weight importance and plain correlation of each item with the overall answer, with their ranks."""
    present = [i for i in items if i in responses.columns]
    frame = item_points_frame(responses, tuple(present), points).assign(weight=_weights(responses))
    # Items nobody scored (or everyone scored alike) have no correlation; leave them out instead of failing.
    usable = [i for i in present if frame[i].notna().sum() >= 3 and frame[i].nunique() > 1]
    table = item_importance(frame, usable, "overall", weight="weight")
    return table.assign(rank_weight=table["rescaled"].rank(ascending=False, method="min").astype("int64"),
                        rank_corr=table["corr"].rank(ascending=False, method="min").astype("int64"))


def fix_first(benchmarks: pd.DataFrame, drivers: pd.DataFrame) -> pd.DataFrame:
    """Items ranked by expected overall gain = importance share × points short of the benchmark county.

    Reading the overall score as an importance-weighted blend of the item scores
    (weights = rescaled relative weights, summing to 1), lifting an item to the
    benchmark county's level lifts the overall score by weight × gap. It orders
    the work; it is not a forecast. Items already level or ahead gain 0.
    """
    table = benchmarks.merge(drivers[["item", "rescaled", "corr", "rank_weight"]], on="item", how="inner")
    table = importance_performance(table, importance="rescaled", performance="score")
    shortfall = (table["strive_score"] - table["score"]).clip(lower=0.0)
    gain = table["rescaled"] * shortfall
    table = table.assign(shortfall=shortfall, expected_gain=gain)
    table = table.sort_values(["expected_gain", "rescaled"], ascending=[False, False]).reset_index(drop=True)
    return table.assign(priority=np.arange(1, len(table) + 1), cumulative_gain=table["expected_gain"].cumsum())
