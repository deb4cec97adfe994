"""The one model of item → overall used by the planner (目标推演) and the fix-first list (先改哪一项).

Missing item answers (不了解/说不清, not scored) are treated one way everywhere: the sample is the respondents with
a scored overall answer, and every covariance is computed over the respondents who scored both of its variables
(available-case, survey-weighted). Nothing is imputed: a respondent with one unscored item still counts in every
pair they answered. Under answers missing at random this is consistent, where mean imputation pulls the item's
covariances towards 0 and complete cases drop about half the sample. The relative weights (drivers) and the
regression coefficients (planner) come from the same matrix, so the two pages can never disagree about the data.

The overall points of a respondent after a change of item answers are predicted as o + Σ β_i · Δitem_i, clipped to
the 0–100 scale: a respondent already at 满意 (100) on the overall question cannot gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats.drivers import nearest_positive_definite_cov, weighted_cov
from analysis.survey.scoring import answer_points, item_points_frame

MISSING_NOTE = ("缺项处理：以总体满意度计分的受访者为样本；分项答“不了解/说不清”的不填补，"
                "其已回答的分项照常计入（成对可用、调查加权的协方差）。分项重要性与目标推演用同一矩阵。")


@dataclass(frozen=True)
class ItemMatrix:
    """Survey-weighted available-case covariance of the items and the overall points (overall last)."""

    items: tuple[str, ...]
    cov: np.ndarray
    means: np.ndarray
    n_used: int      # respondents with a scored overall answer
    n_partial: int   # of them, with at least one unscored item (kept; their answered items count)
    n_complete: int  # of them, with every item scored


def item_matrix(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float]) -> ItemMatrix:
    """The shared covariance matrix of the items and the overall points, over respondents with a scored overall answer."""
    y = answer_points(responses["overall"], points)
    keep = y.notna().to_numpy()
    x = np.column_stack([answer_points(responses[i], points).to_numpy(float) for i in items] + [y.to_numpy(float)])[keep]
    w = (responses["weight"].astype("float64").fillna(1.0).to_numpy() if "weight" in responses.columns
         else np.ones(len(responses)))[keep]
    scored = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.nansum(w[:, None] * np.where(scored, x, 0.0), axis=0) / np.sum(w[:, None] * scored, axis=0)
    partial = int((~scored[:, :-1]).any(axis=1).sum())
    return ItemMatrix(tuple(items), weighted_cov(x, w), means, int(keep.sum()), partial, int(keep.sum()) - partial)


@dataclass(frozen=True)
class ItemRelation:
    """overall ≈ intercept + Σ β_i · item_i, from the shared matrix (β = C_xx⁻¹ c_xy)."""

    coefficients: pd.Series
    intercept: float
    r2: float
    n: int
    n_partial: int = 0
    n_complete: int = 0


def relation_from_matrix(m: ItemMatrix) -> ItemRelation:
    """Regression coefficients, intercept and R² of overall on the items from their covariance matrix."""
    cov = nearest_positive_definite_cov(m.cov)
    cxx, cxy, vy = cov[:-1, :-1], cov[:-1, -1], cov[-1, -1]
    beta = np.linalg.solve(cxx, cxy)
    r2 = float(cxy @ beta / vy) if vy > 0 else float("nan")
    intercept = float(m.means[-1] - beta @ m.means[:-1])
    return ItemRelation(pd.Series(beta, index=list(m.items)), intercept, r2, m.n_used, m.n_partial, m.n_complete)


MIN_ITEM_ANSWERS = 3  # fewer scored answers give no usable variance or correlation


def usable_items(points_frame: pd.DataFrame, items) -> tuple[str, ...]:
    """Items with at least MIN_ITEM_ANSWERS scored answers that are not all alike: the ones the regression (目标推演)
    and the importances (分项指标) can both use, so the two rest on the same items."""
    return tuple(i for i in items if i in points_frame.columns
                 and points_frame[i].notna().sum() >= MIN_ITEM_ANSWERS and points_frame[i].nunique() > 1)


def item_to_overall(responses: pd.DataFrame, items: tuple[str, ...], points: dict[str, float]) -> ItemRelation:
    """The item-to-overall relation of one county's respondents (available-case, survey-weighted)."""
    usable = usable_items(item_points_frame(responses, tuple(i for i in items if i in responses.columns), points), items)
    matrix = item_matrix(responses, usable, points)
    diagonal = np.diag(matrix.cov)
    if not usable or not np.isfinite(matrix.cov).all() or np.any(diagonal <= 0):
        return ItemRelation(pd.Series(0.0, index=list(items)), float(matrix.means[-1]) if len(matrix.means) else float("nan"),
                            float("nan"), matrix.n_used, matrix.n_partial, matrix.n_complete)
    relation = relation_from_matrix(matrix)
    # An item nobody scored has no coefficient: it cannot move the overall score in the model.
    return ItemRelation(relation.coefficients.reindex(list(items), fill_value=0.0), relation.intercept, relation.r2,
                        relation.n, relation.n_partial, relation.n_complete)


def answer_order(points: dict[str, float]) -> list[str]:
    """Scored answers from the lowest to the highest points."""
    return sorted(points, key=points.get)


def one_step_up(points: dict[str, float]) -> dict[str, str]:
    """Each scored answer below the top → the next answer up."""
    order = answer_order(points)
    return {a: order[i + 1] for i, a in enumerate(order[:-1])}


def capped_full_gain(responses: pd.DataFrame, item: str, beta: float, points: dict[str, float]) -> float:
    """Overall-score gain if every respondent below the top on `item` moved one step up (the 0–100 ceiling applied).

    Each respondent holds one answer on the item, so a share t of them moving gains exactly t times this.
    """
    overall = answer_points(responses["overall"], points).to_numpy(float)
    step = responses[item].map(one_step_up(points)).map(points) - answer_points(responses[item], points)
    gain = beta * step.fillna(0.0).to_numpy(float)
    w = responses["weight"].astype("float64").fillna(1.0).to_numpy() if "weight" in responses.columns else np.ones(len(overall))
    scored = ~np.isnan(overall)
    lifted = np.clip(overall + gain, 0.0, 100.0) - overall
    return float(np.sum((w * lifted)[scored]) / np.sum(w[scored]))
