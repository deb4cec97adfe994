"""County scores on raked weights for the ranking: every county with raking margins is raked to them, wave by wave.

A raked county's score is R ``svymean(~score, rake(design, ...), na.rm = TRUE)``:
the weighted mean of the scored overall answers over that county's wave, with
the SE that accounts for the calibration (analysis.stats.weighting). Respondents whose
answer is not scored (不了解 …) still count in the margins, as in R. Counties
without margins, and every county when raking is off, keep the stored table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.data.contract import RESPONSE_COLUMNS
from analysis.stats.estimates import DEFF_NOTE, Z95, design_effect, kish_n_eff
from analysis.stats.weighting import RakingSettings, design_mean, rake
from analysis.survey.scoring import SCORE_COLUMNS, answer_points, rank_within

RAKED_COLUMNS = ["wave", "county", "n", "score", "se", "ci_low", "ci_high", "n_eff", "iterations", "max_error",
                 "converged", "error"]
REPLACED = ["score", "se", "ci_low", "ci_high", "n_eff"]  # what raking changes in a county's row; n and n_excluded stay


def margins_by_column(margins: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Settings margins keyed by Chinese header (城乡) → keyed by the respondents' English column (urban_rural)."""
    names = {c.header: c.name for c in RESPONSE_COLUMNS}
    return {names.get(header, header): shares for header, shares in margins.items()}


def raked_county_score(frame: pd.DataFrame, margins: dict[str, dict[str, float]], points: dict[str, float],
                       max_iter: int = 100, tol: float = 1e-10, trim_ratio: float | None = None) -> dict:
    """One county's wave raked to `margins` (English columns): n, score, calibration-aware SE, 95% CI, Kish n_eff."""
    result = rake(frame, margins, frame.get("weight"), max_iter=max_iter, tol=tol, trim_ratio=trim_ratio)
    y = answer_points(frame["overall"], points).to_numpy(dtype="float64", na_value=np.nan)
    score, se = design_mean(y, result.weights, result.codes)
    w = result.weights[~np.isnan(y)]
    n_eff = kish_n_eff(w)
    return {"n": int(w.size), "score": score, "se": se, "ci_low": score - Z95 * se, "ci_high": score + Z95 * se,
            "n_eff": n_eff, "iterations": result.iterations, "max_error": result.max_error, "converged": result.converged,
            "error": ""}


def raked_county_scores(responses: pd.DataFrame, cfg: RakingSettings, points: dict[str, float]) -> pd.DataFrame:
    """Per wave, for each county of `responses` that has margins (raking on): the raked row, or the reason it was not raked."""
    rows = []
    counties = sorted(set(responses["county"].dropna()) & set(cfg.margins)) if cfg.enabled and len(responses) else []
    for county in counties:
        margins = margins_by_column(cfg.for_county(county))
        own = responses[responses["county"] == county]
        for wave, frame in own.groupby("wave", sort=True):
            try:
                row = raked_county_score(frame.reset_index(drop=True), margins, points, cfg.max_iter, cfg.tolerance,
                                         cfg.trim_ratio)
            except ValueError as exc:  # e.g. a margin category nobody in this wave answered: keep the stored row
                row = {"error": str(exc)}
            rows.append({"wave": wave, "county": county, **row})
    return pd.DataFrame(rows, columns=RAKED_COLUMNS).astype({"error": "object"})


def with_raked_scores(table: pd.DataFrame, raked: pd.DataFrame) -> pd.DataFrame:
    """The county table (SCORE_COLUMNS) with the raked counties' score, SE, CI and n_eff replaced and ranks recomputed."""
    ok = raked[raked["error"].fillna("") == ""]
    if ok.empty:
        return table
    merged = table.merge(ok[["wave", "county", *REPLACED]], on=["wave", "county"], how="left", suffixes=("", "_raked"))
    hit = merged["score_raked"].notna()
    for column in REPLACED:
        merged[column] = merged[column].astype("float64").where(~hit, merged[f"{column}_raked"])
    merged = merged.assign(rank=rank_within(merged))
    return merged[SCORE_COLUMNS].sort_values(["wave", "rank", "county"]).reset_index(drop=True)


def ranking_weight_notes(raked: pd.DataFrame, scores: pd.DataFrame, wave: str, home: str) -> list[str]:
    """The 排名 page's lines on weighting: which counties were raked this wave (or why not), and the home county's
    Kish design effect n / n_eff when it exceeds DEFF_NOTE."""
    notes = []
    this = raked[raked["wave"] == wave]
    done = this.loc[this["error"].fillna("") == "", "county"].tolist()
    if done:
        notes.append(f"已按总体比例迭代加权（raking）的县区：{'、'.join(done)}（得分与标准误计入加权校准）；其余县区用数据中的权重。")
    for row in this[this["error"].fillna("") != ""].itertuples():
        notes.append(f"{row.county}未能按总体比例加权，仍用数据中的权重：{row.error}")
    own = scores[(scores["wave"] == wave) & (scores["county"] == home)]
    if len(own):
        n, n_eff = float(own["n"].iloc[0]), float(own["n_eff"].iloc[0])
        deff = design_effect(n, n_eff)
        if deff > DEFF_NOTE:
            notes.append(f"本县的权重使得分的方差增大约 {deff - 1:.0%}（设计效应 {deff:.2f}）：{n:.0f} 份计分问卷相当于约 "
                         f"{n_eff:.0f} 份等权问卷，置信区间相应变宽。")
    return notes
