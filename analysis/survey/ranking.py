"""One wave's ranking with its uncertainty: rank probabilities, rank confidence sets, margins to the targets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtri

from analysis.stats import rank_stats
from analysis.stats.estimates import pairwise_vs_home
from analysis.survey.basis import CLOSED, Basis, basis_table, choose_basis
from analysis.survey.scoring import rank_within

RANKING_COLUMNS = ["county", "n", "n_excluded", "score", "se", "ci_low", "ci_high", "rank"]


def usable(table: pd.DataFrame) -> np.ndarray:
    """Counties that take part in the probabilities: a finite score and SE (fewer than 2 scored answers have no SE)."""
    return (np.isfinite(table["score"].to_numpy(float)) & np.isfinite(table["se"].to_numpy(float)))


def rank_sets_one_uncertain(score: np.ndarray, se: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """Rank sets [L, U] when at most one unit is uncertain: its CI decides every rank (closed form, no simulation).

    The uncertain unit X ranks 1 + #{f_i > x} for x in its CI [a, b]; a fixed unit i moves down one place when X > f_i.
    With one random unit the marginal and the simultaneous sets are the same.
    """
    uncertain = np.flatnonzero(se > 0)
    fixed_rank = rank_stats.rank_descending(score)
    if uncertain.size == 0:
        return fixed_rank, fixed_rank.copy()
    u = int(uncertain[0])
    z = float(ndtri(1 - (1 - coverage) / 2))
    a, b = score[u] - z * se[u], score[u] + z * se[u]
    others = np.delete(np.arange(score.size), u)
    f = score[others]
    low, high = np.empty(score.size, dtype=np.int64), np.empty(score.size, dtype=np.int64)
    low[u], high[u] = 1 + np.sum(f > b), 1 + np.sum(f > a)
    if f.size == 0:
        return low, high
    base = rank_stats.rank_descending(f)
    low[others], high[others] = base + (a > f), base + (b > f)
    return low, high


def in_rank_order(table: pd.DataFrame) -> pd.DataFrame:
    """The wave's table ranked by score among every county, best first (ties by name): the row order every simulation
    of it sees. The draws follow the rows, so the same seed gives the same chances only in the same order."""
    return table.assign(rank=rank_within(table, by=None)).sort_values(["rank", "county"]).reset_index(drop=True)


def ranking_with_uncertainty(table: pd.DataFrame, targets: tuple[int, ...], draws: int, seed: int,
                             coverage: float) -> pd.DataFrame:
    """One wave's table with P(rank ≤ k), expected rank and rank sets (see ranked_wave)."""
    return ranked_wave(table, targets, draws, seed, coverage)[0]


def ranked_wave(table: pd.DataFrame, targets: tuple[int, ...], draws: int, seed: int,
                coverage: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One wave's table plus P(rank ≤ k), expected rank, marginal and simultaneous rank sets, and top-k sets.

    `rank` is by point score among every county in the table. Published counties carry se 0 (a fixed official score)
    or σ_d (a forecast); a county without a finite SE (fewer than 2 scored answers) is shown but left out of the
    probabilities and rank sets. With one uncertain county everything is closed form; otherwise simulated.
    """
    table = in_rank_order(table)
    if "source" not in table.columns:
        table = table.assign(source="survey")
    keep = usable(table)
    score, se = table.loc[keep, "score"].to_numpy(float), table.loc[keep, "se"].to_numpy(float)
    columns = {name: np.full(len(table), np.nan) for name in
               ("expected_rank", "cs_marginal_low", "cs_marginal_high", "cs_simultaneous_low", "cs_simultaneous_high")}
    columns.update({f"p_rank_le_{k}": np.full(len(table), np.nan) for k in targets})
    columns.update({f"could_top_{k}": np.full(len(table), np.nan) for k in targets})
    places = pd.DataFrame()
    if keep.any():
        probs = rank_stats.place_probabilities(score, se, draws=draws, seed=seed)
        # The place matrix comes from the same draws, so it is simulated once per wave.
        places = pd.DataFrame(probs, index=table.loc[keep, "county"].to_list(),
                              columns=[f"第{k}名" for k in range(1, len(score) + 1)])
        if np.count_nonzero(se > 0) <= 1:
            marg_lo, marg_hi = rank_sets_one_uncertain(score, se, coverage)
            sim_lo, sim_hi = marg_lo, marg_hi
        else:
            marg_lo, marg_hi = rank_stats.rank_sets_marginal(score, se, coverage=coverage, draws=draws, seed=seed)
            sim_lo, sim_hi = rank_stats.rank_sets_simultaneous(score, se, coverage=coverage, draws=draws, seed=seed)
        part = {"expected_rank": rank_stats.expected_rank_exact(score, se), "cs_marginal_low": marg_lo,
                "cs_marginal_high": marg_hi, "cs_simultaneous_low": sim_lo, "cs_simultaneous_high": sim_hi}
        for k in targets:
            # With k or fewer counties in the probabilities every one of them is surely in the top k.
            part[f"p_rank_le_{k}"] = rank_stats.p_rank_le(probs, k) if k <= len(score) else np.ones(len(score))
            # csranks' cstaubest is the lower simultaneous stepdown bound, the same procedure as sim_lo: L_j ≤ k.
            part[f"could_top_{k}"] = sim_lo <= k
        for name, values in part.items():
            columns[name][keep] = values
    ints = {name: pd.array(np.where(np.isnan(v), np.nan, v), dtype="Float64").astype("Int64")
            for name, v in columns.items() if name.startswith("cs_")}
    return table.assign(**{**columns, **ints}), places


def home_rank_probabilities(table: pd.DataFrame, home: str, targets: tuple[int, ...], draws: int, seed: int) -> dict[int, float]:
    """P(home rank ≤ k) for each target in a (possibly planned) wave table, as on the 排名 page; NaN without a SE."""
    keep = usable(table)
    part = table[keep].reset_index(drop=True)
    where = np.flatnonzero(part["county"].to_numpy() == home)
    if where.size == 0:
        return {k: float("nan") for k in targets}
    probs = rank_stats.place_probabilities(part["score"].to_numpy(float), part["se"].to_numpy(float), draws=draws, seed=seed)
    j = int(where[0])
    return {k: float(rank_stats.p_rank_le(probs, k)[j]) if k <= len(part) else 1.0 for k in targets}


def kth_other(table: pd.DataFrame, home: str, k: int) -> dict | None:
    """The county with the k-th highest score among the others, ties by name (the county to beat for 第k名), as
    {"county", "score"}; None when there are fewer than k others."""
    others = table.loc[table["county"] != home].sort_values(["score", "county"], ascending=[False, True])
    if not 1 <= k <= len(others):
        return None
    row = others.iloc[k - 1]
    return {"county": str(row["county"]), "score": float(row["score"])}


def home_margin(table: pd.DataFrame, home: str, k: int) -> float:
    """Home score minus the k-th highest score among the other counties (positive: inside the top k)."""
    other = kth_other(table, home, k)
    home_score = float(table.loc[table["county"] == home, "score"].iloc[0])
    return math.inf if other is None else home_score - other["score"]


def pairwise_table(table: pd.DataFrame, home: str) -> pd.DataFrame:
    """Home against every other county: difference, z, Holm-adjusted p, verdict."""
    return pairwise_vs_home(table[["county", "score", "se"]], home)


def _number(value) -> float | None:
    """A float for JSON, None for a missing value."""
    return None if value is None or pd.isna(value) else float(value)


def _whole(value) -> int | None:
    """An int for JSON, None for a missing value."""
    return None if value is None or pd.isna(value) else int(value)


def home_summary(table: pd.DataFrame, home: str, targets: tuple[int, ...]) -> dict:
    """Rank, score, P(rank ≤ k) and margins of the home county."""
    row = table.loc[table["county"] == home].iloc[0]
    return {
        "county": home,
        "rank": _whole(row["rank"]),
        "score": float(row["score"]),
        "p_rank_le": {str(k): _number(row[f"p_rank_le_{k}"]) for k in targets},
        # JSON has no infinity: a target beyond the number of other counties has no margin.
        "margin": {str(k): (m if math.isfinite(m := home_margin(table, home, k)) else None) for k in targets},
    }


def _county_json(r, targets: tuple[int, ...], basis_kind: str) -> dict:
    """One county of the JSON document; a published county in `mixed` has no SE, interval, rank set or n."""
    published = r.source == "published"
    hidden = published and basis_kind != "forecast"
    cs = lambda lo, hi: None if hidden or pd.isna(lo) else [int(lo), int(hi)]  # noqa: E731
    return {
        "county": r.county, "source": r.source, "n": None if published else _whole(r.n),
        "n_excluded": None if published else _whole(r.n_excluded), "score": float(r.score),
        "se": None if hidden else _number(r.se), "ci_low": None if hidden else _number(r.ci_low),
        "ci_high": None if hidden else _number(r.ci_high), "rank": _whole(r.rank),
        "rank_cs_marginal": cs(r.cs_marginal_low, r.cs_marginal_high),
        "rank_cs_simultaneous": cs(r.cs_simultaneous_low, r.cs_simultaneous_high),
        "p_rank_le": {str(k): _number(getattr(r, f"p_rank_le_{k}")) for k in targets},
        "insufficient": bool(getattr(r, "insufficient", False)),
    }


def ranking_json(table: pd.DataFrame, wave: str, home: str, targets: tuple[int, ...], coverage: float, draws: int,
                 basis: Basis | None = None) -> dict:
    """The command line's JSON document for one wave, with the basis it rests on."""
    kind = basis.kind if basis else "survey"
    counties = [_county_json(r, targets, kind) for r in table.sort_values(["rank", "county"]).itertuples()]
    return {"wave": wave, "home": home, "basis": kind, "compared_wave": basis.compared_wave if basis else None,
            "basis_text": basis.sentence() if basis else None, "targets": sorted(targets), "alpha": round(1 - coverage, 10),
            "draws": draws, "counties": counties, "home_summary": home_summary(table, home, targets)}


def probability_method(basis: Basis, draws: int) -> str:
    """How P(rank ≤ k) was computed on this basis, for the help text beside the number."""
    if basis.method == CLOSED:
        return "只计本县问卷的抽样误差，其他县区取市级公布得分（确定值），按正态分布精确计算"
    if basis.kind == "mixed":
        return f"计入有问卷县区的抽样误差，其余县区取市级公布得分（确定值），模拟 {draws:,} 次"
    if basis.kind == "forecast":
        return f"计入本县问卷的抽样误差和其他县区得分的期间波动，模拟 {draws:,} 次"
    return f"按各县区得分的抽样误差模拟 {draws:,} 次"


def basis_and_table(survey: pd.DataFrame, published: pd.DataFrame, wave: str, city: tuple[str, ...]) -> tuple[Basis, pd.DataFrame]:
    """The wave's basis and the county table it ranks (survey rows only when the wave cannot be ranked)."""
    survey = survey[survey["wave"] == wave] if "wave" in survey.columns else survey
    basis = choose_basis(wave, survey["county"], city, published)
    if not basis.ok:
        return basis, survey.assign(source="survey")
    return basis, basis_table(survey, published, basis)


def basis_scores(survey: pd.DataFrame, published: pd.DataFrame, waves: list[str], city: tuple[str, ...]) -> pd.DataFrame:
    """Every rankable wave's county table on its own basis (published counties included), stacked with a wave column:
    what the trend projection extrapolates, on the page and on the command line alike."""
    parts = []
    for wave in waves:
        basis, table = basis_and_table(survey, published, wave, city)
        if basis.ok and len(table):
            parts.append(table.assign(wave=wave)[["wave", "county", "source", "score", "se"]])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["wave", "county", "source", "score", "se"])


def trend_row(table: pd.DataFrame, wave: str, basis_kind: str, home: str, strive: int, hold: int,
              published: pd.DataFrame) -> dict | None:
    """One wave of the home county's trend: rank with its set, score with CI, city mean, the strive score, the
    city's published rank and score; None when the home county has no respondents that wave."""
    if home not in set(table.loc[table["source"] == "survey", "county"]):
        return None
    row = table.loc[table["county"] == home].iloc[0]
    ordered = table["score"].sort_values(ascending=False).to_numpy()
    pub = published[(published["wave"] == wave) & (published["county"] == home)]
    number = lambda v: float(v) if pd.notna(v) else np.nan  # noqa: E731
    return {
        "wave": wave, "rank": int(row["rank"]), "cs_low": number(row["cs_marginal_low"]), "cs_high": number(row["cs_marginal_high"]),
        "score": row["score"], "se": row["se"], "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n": int(row["n"]),
        f"p_rank_le_{strive}": row[f"p_rank_le_{strive}"], f"p_rank_le_{hold}": row[f"p_rank_le_{hold}"],
        "city_mean": float(table["score"].mean()),
        "strive_score": float(ordered[strive - 1]) if len(ordered) >= strive else float("nan"),
        "published_rank": int(pub["rank"].iloc[0]) if len(pub) else pd.NA,
        "published_score": float(pub["score"].iloc[0]) if len(pub) else float("nan"),
        "basis": basis_kind,
    }


def home_trend(rankings: list[tuple[str, str, pd.DataFrame]], home: str, strive: int, hold: int,
               published: pd.DataFrame) -> pd.DataFrame:
    """The home county's trend over ranked waves given as (wave, basis kind, ranked table), oldest first."""
    rows = [trend_row(table, wave, kind, home, strive, hold, published) for wave, kind, table in rankings]
    return pd.DataFrame([r for r in rows if r is not None])


def trend_until(trend: pd.DataFrame, waves: list[str], wave: str) -> pd.DataFrame:
    """The county's trend up to and including `wave` (waves in time order): what a page or a brief about that wave
    shows, so an older wave's brief never quotes a later wave."""
    return trend[trend["wave"].map(waves.index) <= waves.index(wave)].reset_index(drop=True)


def trend_before(trend: pd.DataFrame, waves: list[str], wave: str) -> dict | None:
    """The county's trend row of the last wave before `wave` (waves in time order), or None when it has none."""
    earlier = trend[trend["wave"].map(waves.index) < waves.index(wave)].tail(1)
    return earlier.iloc[0].to_dict() if len(earlier) else None


def last_ranked_before(ranked: dict[str, bool], waves: list[str], wave: str) -> str | None:
    """The last wave before `wave` (waves in time order) that could be ranked, or None: the one 较上期 compares with."""
    earlier = [w for w in waves[:waves.index(wave)] if ranked.get(w)]
    return earlier[-1] if earlier else None


def with_change(table: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """A ranked wave with each county's score and rank change against an earlier ranked wave (None: all missing).

    Both tables are full rankings on their own basis (survey and published counties alike), so a county's change is
    the change of the rank the 排名 page shows; up is positive (7th → 5th is +2).
    """
    if previous is None:
        return table.assign(score_change=np.nan, rank_change=pd.NA)
    before = previous[["county", "score", "rank"]].rename(columns={"score": "score_before", "rank": "rank_before"})
    merged = table.merge(before, on="county", how="left")
    return merged.assign(score_change=merged["score"] - merged["score_before"],
                         rank_change=merged["rank_before"] - merged["rank"]).drop(columns=["score_before", "rank_before"])
