"""Cached access to the database and the analysis functions; every cache is keyed on the data version."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from analysis.data import store
from analysis.data.contract import file_kind, responses_kind
from analysis.data.waves import sort_waves
from analysis.settings import Settings, load_settings, settings_path
from analysis.stats.estimates import funnel_curves, funnel_limits
from analysis.stats.weighting import RakingSettings, load_raking
from analysis.survey.basis import Basis
from analysis.survey.raked_scores import RAKED_COLUMNS, raked_county_scores, with_raked_scores
from analysis.survey.ranking import basis_and_table, basis_scores, pairwise_table, ranked_wave
from analysis.survey.ranking import home_trend as home_trend_rows
from analysis.survey.scoring import county_scores_from_counts, robustness_table

from ui.caching import shared_view


@st.cache_resource
def _engine_for(url: str):
    return store.connect(url)


def engine():
    """One database engine per database URL (a connection pool: a resource, not data)."""
    return _engine_for(url=store.db_url())  # by name: Streamlit inspects the signature for each positional argument


@shared_view(show_spinner=False)
def settings() -> Settings:
    """The settings file, read once per process."""
    return load_settings()


def version() -> str:
    """The cache key of the data: the database and its change counter (every import, replace, delete, restore)."""
    return f"{store.db_url()}@{store.data_version(engine())}"


# An import's rows never change once stored (replace and delete only change its status), so what is computed from
# one import is cached under its identity (database, id, SHA-256, period, rows) and survives every later import:
# after a new wave only the new file's rows are read.
ImportKey = tuple[int, str, str, int]


def survey_imports() -> list[ImportKey]:
    """The active survey imports."""
    return store.active_imports(engine(), "responses")


@shared_view(show_spinner=False, max_entries=512)
def _import_answer_counts(db_url: str, stored: ImportKey) -> pd.DataFrame:
    return store.answer_counts(engine(), responses_kind(settings().items), import_id=stored[0])


@shared_view(show_spinner="正在汇总问卷数据…", max_entries=4)
def answer_counts(data_version: str) -> pd.DataFrame:
    """Respondents, Σ weight and Σ weight² per wave, county and overall answer, aggregated by the database."""
    parts = [_import_answer_counts(store.db_url(), stored) for stored in survey_imports()]
    return store.combine_counts(parts, ["wave", "county", "overall"])


@shared_view(show_spinner=False, max_entries=512)
def _import_item_counts(db_url: str, stored: ImportKey, items: tuple[str, ...], wave: str) -> pd.DataFrame:
    return store.item_answer_counts(engine(), responses_kind(items), items, wave, import_id=stored[0])


def item_answer_counts(data_version: str, wave: str) -> pd.DataFrame:
    """Per county, item and answer in one wave: respondents, Σ weight and Σ weight² (from that wave's imports)."""
    items = settings().items
    parts = [_import_item_counts(store.db_url(), stored, items, wave) for stored in survey_imports() if stored[2] == wave]
    return store.combine_counts(parts, ["county", "item", "answer"])


@shared_view(show_spinner=False, max_entries=256)
def _import_county_rows(db_url: str, stored: ImportKey, items: tuple[str, ...], county: str) -> pd.DataFrame:
    return store.load_kind(engine(), responses_kind(items), where={"county": county}, import_id=stored[0])


@shared_view(show_spinner=False, max_entries=8)
def home_responses(data_version: str, home: str) -> pd.DataFrame:
    """Every column of one county's responses, all waves (the pages on groups, items and the planner need these)."""
    items = settings().items
    parts = [_import_county_rows(store.db_url(), stored, items, home) for stored in survey_imports()]
    return pd.concat(parts, ignore_index=True) if parts else store.load_kind(engine(), responses_kind(items), where={"county": home})


@shared_view(show_spinner=False, max_entries=16)
def home_wave_responses(data_version: str, wave: str, home: str) -> pd.DataFrame:
    """The home county's responses in one wave (from the cached per-county rows)."""
    # Cached itself: filtering every wave's rows to keep one on each rerun was a fifth of a 目标推演 rerun.
    frame = home_responses(data_version, home)
    return frame[frame["wave"] == wave].reset_index(drop=True)


@shared_view(show_spinner=False, max_entries=16)
def scored_weights(data_version: str, wave: str, home: str) -> np.ndarray:
    """Survey weights of the home county's respondents with a scored overall answer (what a margin in people rests on)."""
    frame = home_wave_responses(data_version, wave, home)
    scored = frame["overall"].isin(list(settings().points))
    return frame.loc[scored, "weight"].astype("float64").fillna(1.0).to_numpy()


@shared_view(show_spinner=False, max_entries=8)
def metrics_table(data_version: str, kind_key: str) -> pd.DataFrame:
    """Active rows of one metrics kind (published, preschool, compulsory, classes)."""
    return store.load_kind(engine(), file_kind(kind_key, settings().items))


@st.cache_resource(show_spinner=False)
def raking_settings() -> RakingSettings:
    """The [raking] table of the settings file, read once per process (a wrong table raises ValueError naming the key)."""
    return load_raking(settings_path())


@shared_view(show_spinner="正在按总体比例加权…", max_entries=4)
def raked_scores(data_version: str) -> pd.DataFrame:
    """Per wave, each county with raking margins scored on raked weights, or why not (empty when [raking] is off)."""
    try:
        cfg = raking_settings()
    except ValueError:  # the 群体与乡镇 page names the wrong key; the ranking keeps the data's weights
        return pd.DataFrame(columns=RAKED_COLUMNS)
    if not cfg.enabled or not cfg.margins:
        return pd.DataFrame(columns=RAKED_COLUMNS)
    rows = pd.concat([home_responses(data_version, county) for county in sorted(cfg.margins)], ignore_index=True)
    return raked_county_scores(rows, cfg, settings().points)


@shared_view(show_spinner="正在计算各县区得分…", max_entries=4)
def scores(data_version: str) -> pd.DataFrame:
    """County scores with SE, CI and rank for every wave under the configured points."""
    table = county_scores_from_counts(answer_counts(data_version), settings().points)
    # Issue 17: with [raking] on, every county with margins is scored on its raked weights (score, SE, CI, n_eff,
    # ranks recomputed) before any ranking basis is built; raking off (the default) leaves the table as it was.
    raked = raked_scores(data_version)
    return with_raked_scores(table, raked) if len(raked) else table


@shared_view(show_spinner=False, max_entries=8)
def waves(data_version: str) -> list[str]:
    """Waves with survey data, oldest first (by the period the label names, not as text)."""
    return sort_waves(scores(data_version)["wave"].unique())


@dataclass(frozen=True)
class WaveRanking:
    """One wave's ranking with uncertainty, its place-probability matrix and the basis it rests on."""

    table: pd.DataFrame
    places: pd.DataFrame
    basis: Basis

    @property
    def ok(self) -> bool:
        """True when the wave can be ranked among all the city's counties."""
        return self.basis.ok


@shared_view(show_spinner="正在计算名次概率与置信集…", max_entries=64)
def _ranking_of(table: pd.DataFrame, targets: tuple[int, ...], draws: int, seed: int, coverage: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    # Keyed on the wave's county table itself: a new wave leaves the older waves' simulations cached.
    return ranked_wave(table, targets, draws=draws, seed=seed, coverage=coverage)


@shared_view(show_spinner=False, max_entries=64)
def wave_basis(data_version: str, wave: str) -> tuple[Basis, pd.DataFrame]:
    """The wave's ranking basis (survey, mixed or forecast) and the county table it ranks."""
    return basis_and_table(scores(data_version), metrics_table(data_version, "published"), wave, settings().counties)


@shared_view(show_spinner=False, max_entries=64)
def wave_ranking(data_version: str, wave: str) -> WaveRanking:
    """Rank probabilities, rank sets and P(rank ≤ target) for one wave, on the basis the stored data allow."""
    # Cached on (version, wave) as well: every page reads it on every rerun, and hashing the county table to look up
    # _ranking_of cost ~5 ms a run; the inner cache still keeps older waves' simulations across a new import.
    cfg = settings()
    basis, table = wave_basis(data_version, wave)
    if not basis.ok:
        return WaveRanking(table.iloc[0:0], pd.DataFrame(), basis)
    ranked, places = _ranking_of(table, tuple(cfg.targets), cfg.draws, cfg.seed, cfg.coverage)
    return WaveRanking(ranked, places, basis)


@shared_view(show_spinner=False, max_entries=64)
def county_row(data_version: str, wave: str, county: str) -> dict | None:
    """One county's row of the wave's ranking as a plain dict (None if it is not ranked): pages read it every rerun,
    and filtering the frame each time cost ~1.3 ms a run."""
    table = wave_ranking(data_version, wave).table
    rows = table[table["county"] == county]
    return rows.iloc[0].to_dict() if len(rows) else None


@shared_view(show_spinner=False, max_entries=16)
def home_trend(data_version: str, home: str) -> pd.DataFrame:
    """Per wave: home rank with its marginal rank set, score with CI, city mean, the 5th score, published results."""
    cfg = settings()
    results = [(w, wave_ranking(data_version, w)) for w in waves(data_version)]
    return home_trend_rows([(w, r.basis.kind, r.table) for w, r in results if r.ok], home, cfg.strive, cfg.hold,
                           metrics_table(data_version, "published"))


@shared_view(show_spinner=False, max_entries=4)
def ranking_scores(data_version: str) -> pd.DataFrame:
    """Every rankable wave's county table on its own basis (published counties included), stacked with a wave column."""
    return basis_scores(scores(data_version), metrics_table(data_version, "published"), waves(data_version),
                        settings().counties)


def official_result(data_version: str, wave: str, home: str) -> tuple[int, float] | None:
    """The city's published rank and score of the home county in this wave, if the city has published it."""
    published = metrics_table(data_version, "published")
    row = published[(published["wave"] == wave) & (published["county"] == home)]
    return None if row.empty else (int(row["rank"].iloc[0]), float(row["score"].iloc[0]))


@shared_view(show_spinner=False, max_entries=16)
def pairwise(data_version: str, wave: str, home: str) -> pd.DataFrame:
    """Home against every other county, Holm-adjusted."""
    return pairwise_table(wave_ranking(data_version, wave).table, home)


def surveyed_counties(table: pd.DataFrame) -> pd.DataFrame:
    """Rows estimated from respondents with a positive SE: the only ones a funnel plot or a test can use."""
    se = table["se"].astype("float64")
    return table[(table["source"] == "survey") & se.gt(0)].reset_index(drop=True)


@dataclass(frozen=True)
class Funnel:
    """Funnel plot inputs: per-county limits, limit curves, the target and τ²."""

    points: pd.DataFrame
    curves: pd.DataFrame
    target: float
    tau2: float


@shared_view(show_spinner=False, max_entries=16)
def funnel(data_version: str, wave: str) -> Funnel:
    """Spiegelhalter funnel for one wave over the counties with respondents (overdispersion-adjusted when present)."""
    table = surveyed_counties(wave_ranking(data_version, wave).table)
    points = funnel_limits(table["score"].to_numpy(), table["se"].to_numpy()).assign(county=table["county"].to_numpy())
    target, tau2 = float(points["target"].iloc[0]), float(points["tau2"].iloc[0])
    grid = np.linspace(table["se"].min() * 0.6, table["se"].max() * 1.5, 60)
    return Funnel(points, funnel_curves(target, tau2, grid), target, tau2)


@shared_view(show_spinner=False, max_entries=16)
def robustness(data_version: str, wave: str) -> pd.DataFrame:
    """Ranks under the configured points, linear points and 满意率."""
    counts = answer_counts(data_version)
    return robustness_table(counts[counts["wave"] == wave], settings().points, scorer=county_scores_from_counts)


@shared_view(show_spinner=False, max_entries=4)
def import_history(data_version: str) -> pd.DataFrame:
    """Every import with its status (数据管理), read once per data version."""
    return store.import_history(engine())


def log_version() -> str:
    """The cache key of the audit log: it also moves on entries that change no data (scenarios, failed sign-ins)."""
    return f"{store.db_url()}@{store.log_version(engine())}"


@shared_view(show_spinner=False, max_entries=4)
def audit_entries(log_key: str) -> pd.DataFrame:
    """The audit log (数据管理), read once per log version."""
    return store.audit_entries(engine())


@shared_view(show_spinner=False, max_entries=4)
def saved_scenarios(log_key: str) -> dict:
    """Saved planner scenarios by name, read once per log version (saving and deleting are logged)."""
    from analysis.survey.scenarios import load_scenarios

    return load_scenarios(engine())
