"""Item questions (分项): where the home county loses points against the city and the strive county, and what to fix first.

Every function takes tables and returns tables, so the 分项指标 page only renders.
Scores follow the county rule (survey-weighted mean of points over scored answers);
the comparison tests treat counties as independent samples, like the ranking page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.formatting import fmt_pct
from analysis.settings import Settings
from analysis.stats.drivers import (importance_from_cov, importance_performance, nearest_positive_definite_cov,
                                    weighted_cov)
from analysis.stats.estimates import ALPHA, grouped_score_table, holm_adjust
from analysis.survey.basis import Basis, item_comparison_note, published_item_scores
from analysis.survey.groups import group_scores
from analysis.survey.itemmodel import (ItemRelation, capped_full_gain, item_matrix, item_to_overall, one_step_up,
                                      usable_items)
from analysis.survey.planner import apply_moves, one_step_moves
from analysis.survey.ranking import kth_other
from analysis.survey.scoring import answer_points, item_points_frame, scores_from_counts

# Below this many respondents the item importances swing from sample to sample; the page says so.
MIN_DRIVER_N = 100
STABILITY_REPS = 200  # bootstrap resamples of the fix-first list (about 1 s for 400 respondents)
ITEM_SCORE_COLUMNS = ["item", "n", "n_excluded", "unknown_share", "score", "se", "ci_low", "ci_high", "n_eff", "weight_total"]


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
    other = kth_other(overall, home, k)
    return None if other is None else other["county"]


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
    """Relative-weight importance and correlation of each item with the overall answer, ranked, from the shared matrix.

    The matrix is the planner's (analysis.survey.itemmodel: available-case, survey-weighted, nothing imputed), so the
    importances and the planner's coefficients rest on the same respondents and the same missing-item treatment.
    """
    present = [i for i in items if i in responses.columns]
    frame = item_points_frame(responses, tuple(present), points)
    # Items nobody scored (or everyone scored alike) have no correlation; leave them out instead of failing.
    usable = list(usable_items(frame, present))
    if not usable:
        raise ValueError("没有可用的分项（答案太少或全部相同）")
    matrix = item_matrix(responses, tuple(usable), points)
    if matrix.n_used < 3 or not np.isfinite(matrix.cov).all():
        raise ValueError(f"总体满意度计分的受访者只有 {matrix.n_used} 人，或有分项与总体满意度没有共同作答")
    table = importance_from_cov(matrix.cov, usable)
    table = table.assign(rank_weight=table["rescaled"].rank(ascending=False, method="min").astype("int64"),
                         rank_corr=table["corr"].rank(ascending=False, method="min").astype("int64"))
    table.attrs.update(correlation="available-case", n_used=matrix.n_used, n_partial=matrix.n_partial,
                       n_complete=matrix.n_complete)
    return table


def _item_step_full(responses: pd.DataFrame, item: str, points: dict[str, float]) -> float:
    """Item-score rise if every respondent below the top on the item moved one step up (weighted, scored answers)."""
    current = answer_points(responses[item], points)
    step = (responses[item].map(one_step_up(points)).map(points) - current).fillna(0.0)
    w = _weights(responses)[current.notna()]
    return float((w * step[current.notna()]).sum() / w.sum()) if w.sum() > 0 else float("nan")


def fix_first(benchmarks: pd.DataFrame, drivers: pd.DataFrame, responses: pd.DataFrame, items: tuple[str, ...],
              points: dict[str, float], relation: ItemRelation) -> pd.DataFrame:
    """Items ranked by the overall gain of closing the gap to the strive county, through the planner's own model.

    Closing an item's gap = moving the same share t of its answers below 满意 one step up, t = gap / (the item-score
    rise if all of them moved), at most 1. The overall gain is then t × the capped full gain (β and the 100-point
    ceiling of analysis.survey.itemmodel). These order the work; summed over items they are not a forecast of the
    overall gap (joint_gains gives the gain of closing several together).
    """
    table = benchmarks.merge(drivers[["item", "rescaled", "corr", "rank_weight"]], on="item", how="inner")
    table = importance_performance(table, importance="rescaled", performance="score")
    shortfall = (table["strive_score"] - table["score"]).clip(lower=0.0).fillna(0.0)
    beta = table["item"].map(relation.coefficients).fillna(0.0).astype(float)
    full_item = table["item"].map(lambda i: _item_step_full(responses, i, points))
    share = (shortfall / full_item.where(full_item > 0)).clip(upper=1.0).fillna(0.0)
    capped = pd.Series([capped_full_gain(responses, i, b, points) for i, b in zip(table["item"], beta)], index=table.index)
    gain = (share * capped).clip(lower=0.0) + 0.0  # + 0.0 turns −0.0 into 0.0
    table = table.assign(shortfall=shortfall, beta=beta, share_needed=share, closes_gap=full_item * 1.0 >= shortfall,
                         expected_gain=gain)
    table = table.sort_values(["expected_gain", "rescaled"], ascending=[False, False]).reset_index(drop=True)
    return table.assign(priority=np.arange(1, len(table) + 1))


def joint_gains(fix: pd.DataFrame, responses: pd.DataFrame, points: dict[str, float], relation: ItemRelation) -> pd.Series:
    """Per row of the fix-first list: the overall gain of closing its gap and every gap above it together, through
    planner.apply_moves (kept apart from fix_first: a dozen exact runs of the planner, needed only where shown)."""
    overall = answer_points(responses["overall"], points)
    scored = overall.notna()
    w = _weights(responses)[scored]
    base = float(np.average(overall[scored], weights=w)) if scored.any() else float("nan")
    joint, moves = [], []
    for row in fix.itertuples():
        if row.expected_gain > 0:
            moves += one_step_moves(responses, row.item, points, row.share_needed)
        planned = apply_moves(responses, moves, relation, points)["points"][scored]
        joint.append(float(np.average(planned, weights=w)) - base if scored.any() else float("nan"))
    return pd.Series(joint, index=fix.index, name="joint_gain")


def fix_first_stability(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float], strive: pd.DataFrame,
                        reps: int = 200, seed: int = 2026) -> pd.DataFrame:
    """Bootstrap of the fix-first list: per item, the share of resamples where it comes first and where its quadrant flips.

    Each resample redraws the home respondents with replacement (β, importances and item scores re-estimated by the
    same model) and the strive county's item scores from N(score, SE²). `strive` has columns item, strive_score, strive_se.
    """
    items = tuple(i for i in items if i in set(strive["item"]))
    x = np.column_stack([answer_points(responses[i], points).to_numpy(float) for i in items]
                        + [answer_points(responses["overall"], points).to_numpy(float)])
    up = np.column_stack([(responses[i].map(one_step_up(points)).map(points) - answer_points(responses[i], points))
                          .fillna(0.0).to_numpy(float) for i in items])
    w_all = _weights(responses).to_numpy(float)
    target = strive.set_index("item").loc[list(items)]
    rng = np.random.default_rng(seed)

    def one(idx: np.ndarray, bench: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        xs, ws, steps = x[idx], w_all[idx], up[idx]
        # Item scores over every respondent who scored the item (as on the page); the model over scored overall answers.
        scored = ~np.isnan(xs[:, :-1])
        wsum = (ws[:, None] * scored).sum(axis=0)
        score = np.nansum(ws[:, None] * np.where(scored, xs[:, :-1], 0.0), axis=0) / wsum
        full_item = (ws[:, None] * steps * scored).sum(axis=0) / wsum
        keep = ~np.isnan(xs[:, -1])
        xs, ws, steps = xs[keep], ws[keep], steps[keep]
        cov = weighted_cov(xs, ws)
        if not np.isfinite(cov).all():
            return None
        try:
            importance = importance_from_cov(cov, list(items))["rescaled"].to_numpy()
            covp = nearest_positive_definite_cov(cov)
            beta = np.linalg.solve(covp[:-1, :-1], covp[:-1, -1])
        except (ValueError, np.linalg.LinAlgError):
            return None
        o = xs[:, -1][:, None]
        capped = (ws[:, None] * (np.clip(o + beta * steps, 0, 100) - o)).sum(axis=0) / ws.sum()
        share = np.clip(np.clip(bench - score, 0, None) / np.where(full_item > 0, full_item, np.inf), 0, 1)
        frame = pd.DataFrame({"rescaled": importance, "score": score})
        quadrant = importance_performance(frame, "rescaled", "score")["quadrant"].to_numpy()
        return np.clip(share * capped, 0, None), quadrant

    base = one(np.arange(len(responses)), target["strive_score"].to_numpy(float))
    if base is None:
        return pd.DataFrame(columns=["item", "first_share", "quadrant_flip_share", "reps"])
    first, flips, done = np.zeros(len(items)), np.zeros(len(items)), 0
    for _ in range(reps):
        idx = rng.integers(0, len(responses), len(responses))
        bench = target["strive_score"].to_numpy(float) + target["strive_se"].fillna(0.0).to_numpy(float) * rng.standard_normal(len(items))
        result = one(idx, bench)
        if result is None:
            continue
        gain, quadrant = result
        if gain.max() > 0:
            first[np.argmax(gain)] += 1
        flips += quadrant != base[1]
        done += 1
    return pd.DataFrame({"item": list(items), "first_share": first / max(done, 1), "quadrant_flip_share": flips / max(done, 1),
                         "reps": done})


@dataclass(frozen=True)
class ItemView:
    """Everything the 分项指标 page draws for one wave and township choice."""

    benchmarks: pd.DataFrame
    drivers: pd.DataFrame | None
    fix: pd.DataFrame | None
    strive_county: str | None
    n: int
    driver_error: str | None
    overall_gap: float  # whole-county overall score minus the strive county's (negative: behind)
    comparison_note: str | None = None  # what the comparison with other counties rests on, or what it needs
    n_scored: int = 0  # questionnaires whose overall answer is scored (总览's 计分 count)

    @property
    def gains(self) -> pd.DataFrame:
        """The fix-first list's items with a positive expected gain, first to fix first (empty when none)."""
        return self.fix.loc[self.fix["expected_gain"] > 0] if self.fix is not None else pd.DataFrame()

    @property
    def fix_first(self) -> dict | None:
        """The item to fix first, the one 总览, 分项指标 and the brief all name: the top of the list if it gains anything."""
        gains = self.gains
        return gains.iloc[0].to_dict() if len(gains) else None


def comparison_items(county_items: pd.DataFrame, basis: Basis, published: pd.DataFrame, wave: str, home: str,
                     items: tuple[str, ...], counties: tuple[str, ...]) -> tuple[pd.DataFrame, str | None]:
    """Item scores of the counties the home county is compared with, and the note on what they rest on.

    Without other counties' respondents the comparison uses the city's published item scores; without those a "city
    mean" of the home county alone would be meaningless, so there is no comparison (an empty table).
    """
    if basis.kind == "survey":
        return county_items, None
    others = [c for c in counties if c != home]
    # A forecast wave has nothing published yet: its comparison uses the published wave its ranking starts from.
    source = basis.compared_wave if basis.kind == "forecast" and basis.compared_wave else wave
    official = published_item_scores(published, source, items, others)
    note = item_comparison_note(basis, not official.empty)
    if official.empty:
        return county_items.iloc[0:0], note
    lacking = [c for c in others if c not in set(official["county"])]
    if lacking:  # the city mean and the strive county then rest on fewer counties: say so, not drop them silently
        note += (f"{source}市级公布结果中{'、'.join(lacking)}没有分项得分，全市平均与对照只含其余 "
                 f"{len(others) - len(lacking)} 个县区。")
    return pd.concat([county_items[county_items["county"] == home], official], ignore_index=True), note


def item_view(home_frame: pd.DataFrame, county_items: pd.DataFrame, overall: pd.Series, home: str,
              settings: Settings, note: str | None = None) -> ItemView:
    """Item scores against the city mean and the strive county, relative-weight importance and the fix-first list.

    `overall` is the ranking's county score (by county), so the benchmark county is the ranking page's strive place.
    """
    cfg = settings
    home_items = item_scores(home_frame, cfg.items, cfg.points)
    n_scored = int(home_frame["overall"].isin(list(cfg.points)).sum()) if "overall" in home_frame else 0
    scores = pd.DataFrame({"county": overall.index, "score": overall.to_numpy()})
    benchmark = benchmark_county(scores, home, cfg.strive) if not county_items.empty else None
    gap = float(overall.get(home, float("nan")) - overall.get(benchmark, float("nan"))) if benchmark else float("nan")
    bench = item_benchmarks(home_items, county_items, home, benchmark)
    try:
        drivers = item_drivers(home_frame, cfg.items, cfg.points)
    except ValueError as exc:
        return ItemView(bench, None, None, benchmark, len(home_frame), str(exc), gap, note, n_scored)
    # The planner's own item → overall model (same matrix as the drivers), so both pages agree on every gain.
    fix = fix_first(bench, drivers, home_frame, cfg.items, cfg.points, item_to_overall(home_frame, cfg.items, cfg.points))
    return ItemView(bench, drivers, fix, benchmark, len(home_frame), None, gap, note, n_scored)


def weakest(frame: pd.DataFrame, items: tuple[str, ...], points: dict[str, float], min_n: int
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items and townships (with enough respondents) of one county's wave, lowest score first, for the brief."""
    item_table = item_scores(frame, items, points).sort_values("score")[["item", "score", "n"]]
    towns = group_scores(frame, ("township",), points, min_n)
    towns = towns[~towns["small"]].sort_values("score").rename(columns={"group": "township"})[["township", "score", "n"]]
    return item_table.reset_index(drop=True), towns.reset_index(drop=True)


@dataclass(frozen=True)
class ItemSummary:
    """What the 分项指标 page leads with for one item view: the weakest item, those below the city, the score table."""

    answered: bool             # anyone in scope scored an item
    has_benchmark: bool        # a strive county to compare with
    worst: dict                # the item furthest behind the strive county (or the lowest-scoring one)
    fix_first: dict | None     # the first item of the fix-first list, when closing its gap gains anything
    below_city: list[str]      # items significantly below the city mean
    scores: pd.DataFrame       # 分项得分 table as shown and downloaded


def item_summary(view: ItemView) -> ItemSummary:
    """The 分项指标 page's headline inputs and its 分项得分 table for one item view."""
    bench, strive = view.benchmarks, view.strive_county or "—"
    has_benchmark = bool(bench["gap_strive"].notna().any())
    scores = pd.DataFrame({
        "分项": bench["item"],
        "本县得分": bench["score"].round(2),
        "95%置信区间": [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(bench["ci_low"], bench["ci_high"])],
        "样本量": bench["n"],
        "不了解占比": [fmt_pct(v) for v in bench["unknown_share"]],
        "全市平均": bench["city_mean"].round(2),
        "较全市平均": bench["gap_city"].round(2),
        "与全市平均比较": bench["verdict_city"],
        f"{strive}得分": bench["strive_score"].round(2),
        f"较{strive}": bench["gap_strive"].round(2),
        f"与{strive}比较": bench["verdict_strive"],
    })
    answered = view.n > 0 and bool(bench["score"].notna().any())
    return ItemSummary(answered=answered, has_benchmark=has_benchmark,
                       worst=bench.sort_values("gap_strive" if has_benchmark else "score").iloc[0].to_dict() if answered else {},
                       fix_first=view.fix_first,
                       below_city=bench.loc[bench["verdict_city"] == "显著偏低", "item"].tolist(), scores=scores)
