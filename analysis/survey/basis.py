"""What a wave's ranking can rest on: every county's respondents, or the home survey plus the city's published scores.

A county bureau usually holds its own respondents and the city's published table, rarely the other counties'
questionnaires. Each wave is ranked on one of three bases, and the basis is named wherever the rank appears:

- survey:   respondents for every county of the city;
- mixed:    respondents for some counties, the same wave's published score for every other county (a fixed value);
- forecast: respondents for some counties, the others at their latest earlier published score with a drift
            N(0, σ_d²), σ_d² the mean squared wave-to-wave change of published scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.waves import sort_waves, wave_sort_key
from analysis.stats.estimates import Z95

SURVEY, MIXED, FORECAST = "survey", "mixed", "forecast"
CLOSED = "closed"  # the chance method when only one county's score carries an error: exact, from the normal law
BASIS_LABELS = {SURVEY: "全市问卷", MIXED: "本县问卷＋同期市级公布结果", FORECAST: "本县问卷＋往期市级公布结果（预测）"}
SOURCE_LABELS = {"survey": "问卷推算", "published": "市级公布"}
TABLE_COLUMNS = ["county", "source", "n", "n_excluded", "score", "se", "ci_low", "ci_high", "published_n", "insufficient"]


@dataclass(frozen=True)
class Basis:
    """The basis of one wave's ranking; kind None means the wave cannot be ranked."""

    wave: str
    kind: str | None
    survey_counties: tuple[str, ...]
    published_counties: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    compared_wave: str | None = None
    drift_sd: float = 0.0
    drift_pairs: int = 0

    @property
    def ok(self) -> bool:
        """True when the wave can be ranked among all the city's counties."""
        return self.kind is not None

    @property
    def method(self) -> str | None:
        """How the chances are computed: CLOSED when at most one county's score carries an error (the surveyed ones,
        and a forecast's published ones when they drift), else simulated on the basis's kind."""
        if self.kind is None:
            return None
        drifting = len(self.published_counties) if self.kind == FORECAST and self.drift_sd > 0 else 0
        return CLOSED if len(self.survey_counties) + drifting <= 1 else self.kind

    @property
    def label(self) -> str:
        """Short Chinese name of the basis."""
        return BASIS_LABELS.get(self.kind, "无法排名")

    def sentence(self) -> str:
        """One Chinese sentence saying what the rank of this wave rests on."""
        others = len(self.published_counties)
        if self.kind == SURVEY:
            return f"名次依据：全市 {len(self.survey_counties)} 个县区的问卷数据，各县区得分均为调查推算值。"
        if self.kind == MIXED:
            return (f"名次依据：{'、'.join(self.survey_counties)}按本局问卷推算，其余 {others} 个县区采用"
                    f"{self.wave}市级公布得分（视为确定值）。")
        if self.kind == FORECAST:
            drift = (f"按各县区历次公布得分的波动（平均每期变化约 ±{self.drift_sd:.2f} 分，{self.drift_pairs} 组相邻两期）估计变化"
                     if self.drift_pairs else "公布结果不足两期，无法估计波动，假设各县区得分不变")
            return (f"名次依据：{'、'.join(self.survey_counties)}按本局问卷推算；{self.wave}尚无市级公布结果，其余 {others} 个县区"
                    f"对照 {self.compared_wave} 市级公布结果，{drift}。这是预测，不是正式名次。")
        return self.missing_sentence()

    def missing_sentence(self) -> str:
        """What is missing for a wave that cannot be ranked, and what to upload."""
        return (f"{self.wave} 缺少 {'、'.join(self.missing)} 的问卷数据，也没有这些县区的市级公布结果，无法在全市范围内排名。"
                f"请在“数据管理”页上传这些县区的问卷，或上传市级测评结果（本期或往期）。")


def drift_sd(published: pd.DataFrame, waves: list[str]) -> tuple[float, int]:
    """σ_d = √(Σ Δ² / M) over all counties and consecutive published waves among `waves`, and M; (0, 0) with < 2 waves."""
    part = published[published["wave"].isin(waves)]
    ordered = sort_waves(part["wave"].unique())
    if len(ordered) < 2:
        return 0.0, 0
    wide = part.pivot_table(index="county", columns="wave", values="score", aggfunc="first")[ordered]
    # A county missing from one of two consecutive tables has no change for that pair; it is skipped, not imputed.
    changes = wide.diff(axis=1).iloc[:, 1:].to_numpy(float)
    changes = changes[np.isfinite(changes)]
    if changes.size == 0:
        return 0.0, 0
    return float(np.sqrt(np.mean(changes**2))), int(changes.size)


def choose_basis(wave: str, survey_counties, city_counties, published: pd.DataFrame) -> Basis:
    """The basis for one wave, from the counties with respondents and the published table (all waves)."""
    surveyed = tuple(c for c in city_counties if c in set(survey_counties))
    absent = tuple(c for c in city_counties if c not in set(surveyed))
    if not absent:
        return Basis(wave, SURVEY, surveyed)
    same = set(published.loc[published["wave"] == wave, "county"])
    if set(absent) <= same:
        return Basis(wave, MIXED, surveyed, absent)
    earlier_waves = [w for w in sort_waves(published["wave"].unique()) if wave_sort_key(w) < wave_sort_key(wave)]
    earlier = published[published["wave"].isin(earlier_waves)]
    missing = tuple(c for c in absent if c not in set(earlier["county"]))
    if missing:
        return Basis(wave, None, surveyed, missing=missing)
    latest = latest_published(earlier, absent)
    sd, pairs = drift_sd(published, earlier_waves)
    return Basis(wave, FORECAST, surveyed, absent, compared_wave=sort_waves(latest["wave"])[-1], drift_sd=sd, drift_pairs=pairs)


def latest_published(published: pd.DataFrame, counties) -> pd.DataFrame:
    """Each county's row of its latest published wave."""
    part = published[published["county"].isin(list(counties))]
    position = part["wave"].map({w: i for i, w in enumerate(sort_waves(part["wave"].unique()))})
    return part.assign(_t=position).sort_values("_t").groupby("county").tail(1).drop(columns="_t")


def basis_table(survey: pd.DataFrame, published: pd.DataFrame, basis: Basis) -> pd.DataFrame:
    """Every county of the wave with score, se and source under the basis (published se: 0, or σ_d when forecast)."""
    own = survey[survey["county"].isin(basis.survey_counties)]
    rows = own.assign(source="survey", published_n=np.nan, insufficient=own["n"] < 2)
    if basis.kind in (MIXED, FORECAST):
        if basis.kind == MIXED:
            pub = published[(published["wave"] == basis.wave) & published["county"].isin(basis.published_counties)]
        else:
            pub = latest_published(published, basis.published_counties)
        sd = basis.drift_sd if basis.kind == FORECAST else 0.0
        fixed = pd.DataFrame({
            "county": pub["county"].to_numpy(), "source": "published", "n": np.nan, "n_excluded": np.nan,
            "score": pub["score"].to_numpy(float), "se": sd,
            # A published score is exact; a forecast gets its prediction interval.
            "ci_low": pub["score"].to_numpy(float) - Z95 * sd if sd > 0 else np.nan,
            "ci_high": pub["score"].to_numpy(float) + Z95 * sd if sd > 0 else np.nan,
            "published_n": pub["n"].to_numpy(float) if "n" in pub.columns else np.nan, "insufficient": False,
        })
        rows = pd.concat([rows, fixed], ignore_index=True)
    return rows[TABLE_COLUMNS].reset_index(drop=True)


def coverage_warnings(responses: pd.DataFrame, city_counties, published: pd.DataFrame) -> list[str]:
    """At import preview: a Chinese warning for each wave whose respondents cover fewer counties than the city lists."""
    notes = []
    # A few (wave, county) pairs instead of a million rows: this runs on every import preview.
    pairs = responses[["wave", "county"]].dropna().drop_duplicates()
    for wave in sort_waves(pairs["wave"].unique()):
        surveyed = set(pairs.loc[pairs["wave"] == wave, "county"])
        basis = choose_basis(wave, surveyed, city_counties, published)
        if basis.kind == SURVEY:
            continue
        absent = [c for c in city_counties if c not in surveyed]
        head = f"{wave} 只有 {len(surveyed)} 个县区的问卷，缺 {'、'.join(absent)}："
        if basis.kind == MIXED:
            notes.append(head + f"名次将对照{wave}市级公布结果计算。")
        elif basis.kind == FORECAST:
            notes.append(head + f"尚无{wave}市级公布结果，名次将对照 {basis.compared_wave} 市级公布结果预测；本期结果公布后请上传。")
        else:
            notes.append(head + f"尚无 {'、'.join(basis.missing)} 的市级公布结果，请上传市级测评结果，否则该批次无法排名。")
    return notes


def published_item_scores(published: pd.DataFrame, wave: str, items: tuple[str, ...], counties) -> pd.DataFrame:
    """The wave's published item scores of `counties`, long (county, item, score, se 0): exact official values."""
    present = [i for i in items if i in published.columns]
    part = published[(published["wave"] == wave) & published["county"].isin(list(counties))]
    if part.empty or not present:
        return pd.DataFrame(columns=["county", "item", "score", "se"])
    long = part[["county", *present]].melt(id_vars="county", var_name="item", value_name="item_score")
    long = (long.assign(score=long["item_score"].astype("float64"), se=0.0).drop(columns="item_score")
            .dropna(subset=["score"]))
    order = {item: k for k, item in enumerate(items)}
    return long.sort_values(["county", "item"], key=lambda s: s.map(order) if s.name == "item" else s).reset_index(drop=True)


def item_comparison_note(basis: Basis, has_published_items: bool) -> str | None:
    """Why the item comparison with other counties is missing or what it rests on; None under the survey basis."""
    if basis.kind == SURVEY:
        return None
    if basis.kind == FORECAST:
        source = basis.compared_wave
        if has_published_items:
            return (f"{basis.wave}市级结果尚未公布，其他县区的分项得分取自{source}市级公布结果（上一期的确定值，作对照），"
                    "本县按本局问卷推算。")
        return (f"{source}市级公布结果中没有其他县区的分项得分，无法与全市平均和争先对照县比较；如需比较，请上传含各分项得分的"
                f"{source}市级测评结果（表头为各分项名称）。下面只显示本县自己的分项得分与重要性。")
    if has_published_items:
        return f"其他县区的分项得分取自{basis.wave}市级公布结果（确定值），本县按本局问卷推算。"
    return (f"{basis.wave}没有其他县区的分项得分，无法与全市平均和争先对照县比较；如需比较，请上传含各分项得分的"
            f"{basis.wave}市级测评结果（表头为各分项名称）。下面只显示本县自己的分项得分与重要性。")
