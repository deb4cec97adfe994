"""One wave's ranking with its uncertainty: rank probabilities, rank confidence sets, margins to the targets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import ranks
from analysis.stats import pairwise_vs_home

RANKING_COLUMNS = ["county", "n", "n_excluded", "score", "se", "ci_low", "ci_high", "rank"]


def place_probability_frame(table: pd.DataFrame, draws: int, seed: int) -> pd.DataFrame:
    """County × place matrix of P(county has that place), rows in the table's order."""
    probs = ranks.place_probabilities(table["score"].to_numpy(), table["se"].to_numpy(), draws=draws, seed=seed)
    return pd.DataFrame(probs, index=table["county"].to_list(), columns=[f"第{k}名" for k in range(1, len(table) + 1)])


def ranking_with_uncertainty(table: pd.DataFrame, targets: tuple[int, ...], draws: int, seed: int,
                             coverage: float) -> pd.DataFrame:
    """One wave's table plus P(rank ≤ k), expected rank, marginal and simultaneous rank sets, and top-k sets."""
    table = table.sort_values(["rank", "county"]).reset_index(drop=True)
    score, se = table["score"].to_numpy(float), table["se"].to_numpy(float)
    probs = ranks.place_probabilities(score, se, draws=draws, seed=seed)
    marg_lo, marg_hi = ranks.rank_sets_marginal(score, se, coverage=coverage, draws=draws, seed=seed)
    sim_lo, sim_hi = ranks.rank_sets_simultaneous(score, se, coverage=coverage, draws=draws, seed=seed)
    extra = {
        "expected_rank": ranks.expected_rank_exact(score, se),
        "cs_marginal_low": marg_lo, "cs_marginal_high": marg_hi,
        "cs_simultaneous_low": sim_lo, "cs_simultaneous_high": sim_hi,
    }
    for k in targets:
        # With k or fewer counties in the wave (a partial upload), every county is surely in the top k.
        extra[f"p_rank_le_{k}"] = ranks.p_rank_le(probs, k) if k <= len(table) else np.ones(len(table))
        # csranks' cstaubest is the lower simultaneous stepdown bound, the same procedure as sim_lo: L_j ≤ k.
        extra[f"could_top_{k}"] = sim_lo <= k
    return table.assign(**extra)


def home_margin(table: pd.DataFrame, home: str, k: int) -> float:
    """Home score minus the k-th highest score among the other counties (positive: inside the top k)."""
    others = table.loc[table["county"] != home, "score"].sort_values(ascending=False).to_numpy()
    home_score = float(table.loc[table["county"] == home, "score"].iloc[0])
    if k > len(others):
        return math.inf
    return home_score - float(others[k - 1])


def margin_in_respondents(margin: float, n: int, points: dict[str, float]) -> int:
    """How many respondents moving 一般 → 满意 shift the score by `margin` at this sample size."""
    step = points.get("满意", 100.0) - points.get("一般", 60.0)
    if not math.isfinite(margin) or step <= 0 or n <= 0:
        return 0
    # Rounded up, and at least one: a deficit of 0.01 still needs one respondent to change their answer.
    return max(1, math.ceil(abs(margin) * n / step))


def margin_sentence(margin: float, k: int, n: int, points: dict[str, float]) -> str:
    """A leader's reading of a margin, e.g. 距第5名差 0.4 分，需约 5 名受访者由'一般'转为'满意'."""
    people = margin_in_respondents(margin, n, points)
    if not math.isfinite(margin):
        return f"县区不足 {k} 个，目标第{k}名必然达成"
    if margin > 0:
        return f"高出第{k}名以外的最高分 {margin:.2f} 分，相当于约 {people} 名受访者由“满意”降为“一般”的余量"
    return f"距第{k}名差 {abs(margin):.2f} 分，需约 {people} 名受访者由“一般”转为“满意”"


def pairwise_table(table: pd.DataFrame, home: str) -> pd.DataFrame:
    """Home against every other county: difference, z, Holm-adjusted p, verdict."""
    return pairwise_vs_home(table[["county", "score", "se"]], home)


def home_summary(table: pd.DataFrame, home: str, targets: tuple[int, ...]) -> dict:
    """Rank, score, P(rank ≤ k) and margins of the home county."""
    row = table.loc[table["county"] == home].iloc[0]
    return {
        "county": home,
        "rank": int(row["rank"]),
        "score": float(row["score"]),
        "p_rank_le": {str(k): float(row[f"p_rank_le_{k}"]) for k in targets},
        "margin": {str(k): home_margin(table, home, k) for k in targets},
    }


def ranking_json(table: pd.DataFrame, wave: str, home: str, targets: tuple[int, ...], coverage: float, draws: int) -> dict:
    """The command line's JSON document for one wave."""
    counties = [{
        "county": r.county, "n": int(r.n), "n_excluded": int(r.n_excluded), "score": float(r.score), "se": float(r.se),
        "ci_low": float(r.ci_low), "ci_high": float(r.ci_high), "rank": int(r.rank),
        "rank_cs_marginal": [int(r.cs_marginal_low), int(r.cs_marginal_high)],
        "rank_cs_simultaneous": [int(r.cs_simultaneous_low), int(r.cs_simultaneous_high)],
        "p_rank_le": {str(k): float(getattr(r, f"p_rank_le_{k}")) for k in targets},
    } for r in table.sort_values(["rank", "county"]).itertuples()]
    return {"wave": wave, "home": home, "targets": sorted(targets), "alpha": round(1 - coverage, 10), "draws": draws,
            "counties": counties, "home_summary": home_summary(table, home, targets)}


def probability_sentence(p: float, k: int, label: str) -> str:
    """One plain-Chinese sentence for P(rank ≤ k)."""
    pct = f"{p * 100:.1f}%"
    if p >= 0.9:
        verdict = "把握很大，保持现有工作即可"
    elif p >= 0.7:
        verdict = "把握较大，但仍有落出的可能"
    elif p >= 0.4:
        verdict = "胜负难料，与相邻县区差距在抽样误差之内"
    elif p >= 0.1:
        verdict = "可能性偏低，需要明显提升"
    else:
        verdict = "按目前数据很难达到"
    return f"{label}概率 {pct}：在 100 次同等规模的调查中，约 {round(p * 100)} 次本县名次在第{k}名及以内，{verdict}。"

