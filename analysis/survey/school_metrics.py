"""School metrics (办学指标): enrollment rates and class sizes per school year and township, against the thresholds.

Rates are ratios of sums, so a county (or several townships) total is the sum
of its numerators over the sum of its denominators, never a mean of rates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.formatting import met_text, pct_columns
from analysis.settings import Thresholds
from analysis.stats.estimates import ALPHA, spearman
from analysis.survey.groups import group_scores, in_townships

TOTAL_LABEL = "全县合计"
FILTERED_LABEL = "所选乡镇合计"  # the total row when a township filter is on
INITIAL_GRADE_CAP = {"一年级": "class_cap_primary", "七年级": "class_cap_junior"}
SMALL_SIZE_EDGES = (30, 35, 40, 45, 50)  # the histogram's bands of five below the 大班额 line
FEW_POINTS = 20  # below this many townships a rank correlation is fragile, and the page says so


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0 or missing."""
    den = denominator.astype("float64")
    return numerator.astype("float64") / den.where(den > 0)


def latest_year(years: pd.Series) -> str | None:
    """The latest school year ('2025-2026学年' sorts after '2024-2025学年')."""
    values = sorted(pd.Series(years).dropna().astype("str").unique())
    return values[-1] if values else None


def with_total(frame: pd.DataFrame, sums: list[str], label: str = TOTAL_LABEL) -> pd.DataFrame:
    """Rows per year and township plus one total row per year (sums of the count columns), marked is_total."""
    totals = frame.groupby("year", as_index=False)[sums].sum().assign(township=label, is_total=True)
    return (pd.concat([frame.assign(is_total=False), totals[[*frame.columns, "is_total"]]], ignore_index=True)
            .sort_values(["year", "is_total", "township"]).reset_index(drop=True))


def preschool_rates(preschool: pd.DataFrame, thresholds: Thresholds, label: str = TOTAL_LABEL) -> pd.DataFrame:
    """Per year and township (plus a total row): 毛入园率, 普惠性幼儿园覆盖率, 公办园在园幼儿占比 and whether each meets its target."""
    counts = ["population_3_5", "enrolled", "enrolled_public", "enrolled_inclusive_private"]
    frame = with_total(preschool[["year", "township", *counts]], counts, label)
    rates = frame.assign(
        gross_enrollment=_ratio(frame["enrolled"], frame["population_3_5"]),
        inclusive_coverage=_ratio(frame["enrolled_public"] + frame["enrolled_inclusive_private"], frame["enrolled"]),
        public_share=_ratio(frame["enrolled_public"], frame["enrolled"]),
    )
    return rates.assign(
        gross_enrollment_ok=target_met(rates["gross_enrollment"], thresholds.preschool_gross_enrollment_min),
        inclusive_coverage_ok=target_met(rates["inclusive_coverage"], thresholds.inclusive_coverage_min),
        public_share_ok=target_met(rates["public_share"], thresholds.public_share_min),
    )


def target_met(rate: pd.Series, minimum: float) -> pd.Series:
    """Whether each rate reaches its minimum; <NA> where the rate cannot be computed (no children counted), which is
    neither 达标 nor 未达标."""
    return (rate >= minimum).astype("boolean").mask(rate.isna())


def missed_targets(row: pd.Series, series: dict[str, tuple[str, float]]) -> tuple[list[str], list[str]]:
    """The labels of a row's rates that miss their target and of those that cannot be computed (flags `<column>_ok`)."""
    flags = {label: row[f"{column}_ok"] for column, (label, _) in series.items()}
    return ([label for label, ok in flags.items() if pd.notna(ok) and not ok],
            [label for label, ok in flags.items() if pd.isna(ok)])


def short_townships(rows: pd.DataFrame, column: str) -> list[str]:
    """Townships whose rate in `column` misses its target (a rate that cannot be computed is not counted as missing)."""
    return rows.loc[~rows[f"{column}_ok"].fillna(True).astype(bool), "township"].tolist()


def compulsory_rates(compulsory: pd.DataFrame, label: str = TOTAL_LABEL) -> pd.DataFrame:
    """Per year and township (plus a total row): 义务教育毛入学率 and 适龄残疾儿童入学率."""
    counts = ["population", "enrolled", "disabled_children", "disabled_enrolled"]
    frame = with_total(compulsory[["year", "township", *counts]], counts, label)
    return frame.assign(
        gross_enrollment=_ratio(frame["enrolled"], frame["population"]),
        disabled_enrollment=_ratio(frame["disabled_enrolled"], frame["disabled_children"]),
    )


def class_flags(classes: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Each class with its size band (正常/大班额/超大班额) and whether an initial-grade class is over its cap."""
    students = classes["students"].astype("float64")
    large = (students >= thresholds.large_class_min) & (students < thresholds.very_large_class_min)
    very_large = students >= thresholds.very_large_class_min
    caps = {grade: getattr(thresholds, name) for grade, name in INITIAL_GRADE_CAP.items()}
    cap = classes["grade"].map(caps).astype("float64")
    return classes.assign(
        large=large, very_large=very_large, large_or_more=large | very_large,
        band=pd.array(np.select([very_large, large], ["超大班额", "大班额"], default="正常"), dtype="str"),
        initial=cap.notna(), cap=cap, over_cap=cap.notna() & (students > cap),
    )


def class_summary(flags: pd.DataFrame, by: list[str], thresholds: Thresholds) -> pd.DataFrame:
    """Per group: classes, students, mean/max size, 大班额 and 超大班额 counts and shares, initial-grade classes over the cap."""
    table = flags.groupby(by, as_index=False, sort=True).agg(
        classes=("students", "size"), students=("students", "sum"), mean_size=("students", "mean"),
        max_size=("students", "max"), large=("large", "sum"), very_large=("very_large", "sum"),
        large_or_more=("large_or_more", "sum"), initial_classes=("initial", "sum"), initial_over_cap=("over_cap", "sum"))
    # 大班额 share counts every class of 56 or more (超大班额 included), as in 国发〔2016〕40号's 5% target.
    large_share = _ratio(table["large_or_more"], table["classes"])
    return table.assign(
        large_share=large_share,
        very_large_share=_ratio(table["very_large"], table["classes"]),
        initial_over_cap_share=_ratio(table["initial_over_cap"], table["initial_classes"]),
        meets_target=(large_share <= thresholds.large_class_share_max) & (table["very_large"] == 0),
    )


def township_class_summary(flags: pd.DataFrame, thresholds: Thresholds, label: str = TOTAL_LABEL) -> pd.DataFrame:
    """Class-size summary per year and township, plus a total row per year (is_total)."""
    by_township = class_summary(flags, ["year", "township"], thresholds).assign(is_total=False)
    total = class_summary(flags, ["year"], thresholds).assign(township=label, is_total=True)
    return (pd.concat([by_township, total[by_township.columns]], ignore_index=True)
            .sort_values(["year", "is_total", "township"]).reset_index(drop=True))


def school_class_summary(flags: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Class-size summary per year and school, worst first (超大班额, then 大班额 share, then the largest class)."""
    table = class_summary(flags, ["year", "township", "school"], thresholds)
    stages = flags.groupby(["year", "township", "school"], sort=True)["stage"].agg(lambda s: "、".join(sorted(s.dropna().unique())))
    table = table.merge(stages.rename("stage").reset_index(), on=["year", "township", "school"], how="left")
    return table.sort_values(["year", "very_large", "large_share", "max_size", "school"],
                             ascending=[True, False, False, False, True]).reset_index(drop=True)


@dataclass(frozen=True)
class SizeLabels:
    """The class-size names as the settings define the lines (国发〔2016〕40号: 56 and 66 by default)."""

    large: str        # 大班额（56–65人）
    very_large: str   # 超大班额（66人及以上）
    large_share: str  # 大班额占比（56人及以上）: 超大班额 counted in, as the 5% target counts them
    bins: tuple[int, ...]    # the histogram's band edges (right-closed)
    bands: tuple[str, ...]   # and their names, smallest first

    @property
    def large_share_pct(self) -> str:
        """The share's name for an axis or panel in %: 大班额占比（56人及以上，%）."""
        return self.large_share.replace("）", "，%）")


def size_labels(thresholds: Thresholds) -> SizeLabels:
    """Names and histogram bands for the 大班额 lines in the settings, so headers, cards and counts always agree."""
    large, very = thresholds.large_class_min, thresholds.very_large_class_min
    edges = [e for e in SMALL_SIZE_EDGES if e < large - 1]
    bands = [f"{edges[0]}人及以下" if edges else f"{large - 1}人及以下"]
    bands += [f"{a + 1}–{b}人" for a, b in zip(edges, [*edges[1:], large - 1])]
    return SizeLabels(large=f"大班额（{large}–{very - 1}人）", very_large=f"超大班额（{very}人及以上）",
                      large_share=f"大班额占比（{large}人及以上）", bins=(0, *edges, large - 1, very - 1, 1000),
                      bands=(*bands, f"{large}–{very - 1}人（大班额）", f"{very}人及以上（超大班额）"))


def class_size_distribution(flags: pd.DataFrame, labels: SizeLabels) -> pd.DataFrame:
    """Counts of classes per size band and stage for each year (bands of five up to the 大班额 line)."""
    band = pd.cut(flags["students"].astype("float64"), bins=list(labels.bins), labels=list(labels.bands), right=True)
    table = (flags.assign(size_band=band).groupby(["year", "stage", "size_band"], observed=False)
             .size().reset_index(name="classes"))
    share = table["classes"] / table.groupby(["year", "stage"])["classes"].transform("sum").where(lambda s: s > 0)
    return table.assign(size_band=table["size_band"].astype("str"), share=share.astype("float64"))


def township_link(township_scores: pd.DataFrame, classes: pd.DataFrame, preschool: pd.DataFrame) -> pd.DataFrame:
    """One row per township: satisfaction score and n beside its 大班额 share and 普惠性幼儿园覆盖率 (inner join)."""
    scores = township_scores[["group", "n", "score", "small"]].rename(columns={"group": "township"})
    crowd = classes.loc[~classes["is_total"].astype(bool), ["township", "large_share", "classes"]]
    kinder = preschool.loc[~preschool["is_total"].astype(bool), ["township", "inclusive_coverage"]]
    return scores.merge(crowd, on="township", how="left").merge(kinder, on="township", how="left")


def township_association(link: pd.DataFrame, measure: str, min_n: int) -> dict[str, float]:
    """Spearman ρ of township satisfaction with a metric over townships with at least `min_n` respondents.

    A township of a dozen respondents has a score SE near 5 points, enough to reorder the ranks on its own, so small
    townships are dropped (and counted) rather than ranked alongside the rest.
    """
    pair = link.dropna(subset=[measure, "score"])
    kept = pair[pair["n"] >= min_n]
    stats = spearman(kept[measure], kept["score"])
    stats.update(dropped=float(len(pair) - len(kept)), zeros=float((kept[measure] == 0).sum()), min_n=float(min_n))
    return stats


def association_sentence(stats: dict[str, float], label: str, measure_label: str, alpha: float = ALPHA) -> str:
    """ρ in words: a direction only when significant, always said to be an area-level association."""
    dropped = int(stats.get("dropped", 0))
    small = f"；另有 {dropped} 个乡镇样本不足 {int(stats.get('min_n', 0))} 份，未计入" if dropped else ""
    if pd.isna(stats["rho"]):
        return f"{label}：样本足够的配对乡镇不足 3 个（或数值没有差异），无法计算相关{small}。"
    text = (f"{label}与{measure_label}的 Spearman 等级相关 ρ = {stats['rho']:.2f}（p = {stats['p']:.3f}，"
            f"{int(stats['n'])} 个乡镇{small}）：")
    if stats["p"] < alpha:
        direction = "越低" if stats["rho"] < 0 else "越高"
        text += f"统计上显著，{label}越高的乡镇，{measure_label}{direction}。"
    else:
        text += "统计上不显著，现有数据不能说明二者有关。"
    return text + "这是乡镇之间的关联，不代表每个家庭的情况，也不说明因果。"


@dataclass(frozen=True)
class MetricsView:
    """Enrollment rates and class-size tables for the chosen townships."""

    preschool: pd.DataFrame
    compulsory: pd.DataFrame
    flags: pd.DataFrame
    townships: pd.DataFrame
    schools: pd.DataFrame
    distribution: pd.DataFrame
    labels: SizeLabels
    years: tuple[str, ...] = ()  # school years in any of the three tables, oldest first


def metrics_view(preschool: pd.DataFrame, compulsory: pd.DataFrame, classes: pd.DataFrame, thresholds: Thresholds,
                 townships: tuple[str, ...]) -> MetricsView:
    """Rates per year and township and class-size summaries, restricted to the chosen townships."""
    label = TOTAL_LABEL if not townships else FILTERED_LABEL
    preschool, compulsory = in_townships(preschool, townships), in_townships(compulsory, townships)
    flags = class_flags(in_townships(classes, townships), thresholds)
    labels = size_labels(thresholds)
    return MetricsView(
        preschool=preschool_rates(preschool, thresholds, label) if len(preschool) else pd.DataFrame(),
        compulsory=compulsory_rates(compulsory, label) if len(compulsory) else pd.DataFrame(),
        flags=flags,
        townships=township_class_summary(flags, thresholds, label) if len(flags) else pd.DataFrame(),
        schools=school_class_summary(flags, thresholds) if len(flags) else pd.DataFrame(),
        distribution=class_size_distribution(flags, labels) if len(flags) else pd.DataFrame(),
        labels=labels,
        years=tuple(sorted({str(y) for frame in (preschool, compulsory, flags) if "year" in frame for y in frame["year"].unique()})),
    )


@dataclass(frozen=True)
class LinkView:
    """Township satisfaction beside the latest school year's 大班额 share and 普惠 coverage, with Spearman's ρ."""

    table: pd.DataFrame
    year: str | None
    crowding: dict[str, float]
    coverage: dict[str, float]


def link_view(metrics: MetricsView, wave_responses: pd.DataFrame, townships: tuple[str, ...], points: dict[str, float],
              min_n: int, column: str) -> LinkView:
    """Pair one wave's township scores with the latest school year's metrics (the only pairing the files allow)."""
    years = pd.concat([metrics.townships.get("year", pd.Series(dtype="str")),
                       metrics.preschool.get("year", pd.Series(dtype="str"))])
    year = latest_year(years)
    scores = group_scores(in_townships(wave_responses, townships), ("township",), points, min_n, column)
    empty = pd.DataFrame(columns=["year", "township", "large_share", "classes", "inclusive_coverage", "is_total"])
    classes = metrics.townships[metrics.townships["year"] == year] if len(metrics.townships) else empty
    preschool = metrics.preschool[metrics.preschool["year"] == year] if len(metrics.preschool) else empty
    link = township_link(scores, classes, preschool)
    # Small townships are dropped from the correlation (their score alone can reorder the ranks); the table keeps them.
    return LinkView(link, year, township_association(link, "large_share", min_n),
                    township_association(link, "inclusive_coverage", min_n))


@dataclass(frozen=True)
class ClassYear:
    """What the 班额 tab shows for one school year: the county's totals, the trend's ends and the schools."""

    totals: dict | None  # the chosen year's totals over the chosen townships (None: no classes that year)
    first: dict          # the first and last school years' totals, for the trend sentence
    last: dict
    crowded: int         # schools with a large class, and how many such classes they have
    crowded_classes: int
    worst: dict | None   # the school with the most severe crowding (schools come worst first)
    schools: pd.DataFrame  # 学校 table as shown and downloaded


def class_year(view: MetricsView, year: str) -> ClassYear:
    """What the 班额 tab shows for one school year of a metrics view: totals, the trend's ends, the 学校 table."""
    totals = view.townships[view.townships["is_total"]].sort_values("year")
    current = totals[totals["year"] == year]
    schools = view.schools[view.schools["year"] == year]
    crowded = schools[schools["large_or_more"] > 0]
    table = pd.DataFrame({
        "学年": schools["year"], "学校": schools["school"], "乡镇（街道）": schools["township"], "学段": schools["stage"],
        "班级数": schools["classes"], "学生数": schools["students"].astype("int64"), "平均班额": schools["mean_size"].round(1),
        "最大班额": schools["max_size"].astype("int64"), view.labels.large: schools["large"],
        view.labels.very_large: schools["very_large"], **pct_columns(schools, {"large_share": view.labels.large_share}),
        "起始年级班级数": schools["initial_classes"], "起始年级超额班级": schools["initial_over_cap"],
        "是否达标": met_text(schools["meets_target"]),
    })
    return ClassYear(totals=current.iloc[0].to_dict() if len(current) else None, first=totals.iloc[0].to_dict(),
                     last=totals.iloc[-1].to_dict(), crowded=len(crowded), crowded_classes=int(crowded["large_or_more"].sum()),
                     worst=schools.iloc[0].to_dict() if len(crowded) else None, schools=table)
