"""办学指标: enrollment rates and class sizes per school year and township against the targets, and their link to satisfaction."""

import pandas as pd
import streamlit as st

from analysis.formatting import escape_markdown, fmt_pct, met_text, pct_columns
from analysis.survey.school_metrics import FEW_POINTS, association_sentence, missed_targets, short_townships
from ui import insight_figures as figures
from ui import insight_sections as sections
from ui import insights, state
from ui.widgets import detail_expander, download_table, lazy_tabs, page_context, takeaway

ctx = page_context()
cfg = ctx.settings
th = cfg.thresholds
# The metrics files carry no county column: they are the bureau's own county, even if the sidebar shows another.
county = insights.metrics_county()
st.title(f"{county} 办学指标")
if ctx.home != county:
    st.info(f"办学指标文件是本局（{county}）的数据，与侧栏所选的{ctx.home}无关；“与满意度的关联”也按{county}的乡镇计算。",
            icon=":material/info:")

options = insights.metric_townships(ctx.version)
if not options:
    st.info("尚未上传办学指标数据（学前教育、义务教育与特殊教育、班级名册）。请分析员在“数据管理”页上传。", icon=":material/upload_file:")
    st.page_link("app_pages/data_admin.py", label="前往数据管理", icon=":material/database:")
    st.stop()

left, right = st.columns([3, 2])
with left:
    townships = insights.township_filter(state.METRICS_TOWNSHIPS, options)
view = insights.metrics_view(ctx.version, townships)
years = list(view.years)
if not years:
    st.warning("所选乡镇没有办学指标数据，请换一个乡镇。")
    st.stop()
with right:
    if st.session_state.get(state.METRICS_YEAR) not in years:
        st.session_state[state.METRICS_YEAR] = years[-1]
    year = st.selectbox("学年（明细表和乡镇图）", years, key=state.METRICS_YEAR)
scope = insights.scope_label(county, townships)
st.caption(escape_markdown(f"{scope} · 共 {len(years)} 个学年（{years[0]}至{years[-1]}）· 走势图看全部学年，乡镇图与明细表看 {year} · 目标值来自设置文件"))



def missing_upload(message: str) -> None:
    """Empty state for a metrics file that has not been uploaded, with the way to 数据管理."""
    st.info(message, icon=":material/info:")
    st.page_link("app_pages/data_admin.py", label="前往数据管理上传", icon=":material/database:")


def detail_table(label: str, state_key: str, frame: pd.DataFrame, name: str, key: str) -> None:
    """A table (and its download) that is built only while its expander is open."""
    with detail_expander(label, state_key) as box:
        if box.open:
            st.dataframe(frame, hide_index=True, width="stretch")
            download_table(frame, name, key)


# The sections below read the page's filters set above (ctx, view, year, townships) and run only in their open tab.


def class_section() -> None:
    """班额: counts, shares, initial-grade caps, the trend, and the schools worst first."""
    if view.townships.empty:
        missing_upload("尚未上传班级名册。")
        return
    # Drawn once per version, township filter and school year, then replayed (ui/caching.sent_section).
    sections.class_overview(ctx.version, townships, year)
    download_table(insights.class_year(ctx.version, townships, year).schools, f"学校班额_{year}", "metrics_schools")


def class_distribution_section() -> None:
    """班额分布: the large-class share by township and the class-size histogram, with the detail tables."""
    towns = view.townships
    if towns.empty:
        missing_upload("尚未上传班级名册。")
        return
    year_towns = towns[(towns["year"] == year) & ~towns["is_total"]]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(figures.large_class_share(ctx.version, townships, year), width="stretch")
        over = year_towns.loc[year_towns["large_share"] > th.large_class_share_max, "township"].tolist()
        takeaway(f"{year}大班额占比超过 {fmt_pct(th.large_class_share_max, 0)} 的乡镇：{'、'.join(over) if over else '无'}。")
    with right:
        year_flags = view.flags[view.flags["year"] == year]
        st.plotly_chart(figures.class_sizes(ctx.version, townships, year), width="stretch")
        takeaway(f"{year}共 {len(year_flags)} 个班，平均班额 {year_flags['students'].mean():.1f} 人，最大 {int(year_flags['students'].max())} 人。")

    town_view = pd.DataFrame({
        "学年": towns["year"], "乡镇（街道）": towns["township"], "班级数": towns["classes"], "平均班额": towns["mean_size"].round(1),
        "最大班额": towns["max_size"].astype("int64"), view.labels.large: towns["large"], view.labels.very_large: towns["very_large"],
        **pct_columns(towns, {"large_share": view.labels.large_share, "very_large_share": "超大班额占比"}),
        "起始年级班级数": towns["initial_classes"], "起始年级超额班级": towns["initial_over_cap"],
        **pct_columns(towns, {"initial_over_cap_share": "起始年级超额占比"}),
        "是否达标": met_text(towns["meets_target"]),
    })
    detail_table("各乡镇班额明细（全部学年）", state.METRICS_TOWNSHIP_DETAIL, town_view, "乡镇班额", "metrics_townships")
    dist = view.distribution
    dist_view = pd.DataFrame({"学年": dist["year"], "学段": dist["stage"], "班额区间": dist["size_band"], "班级数": dist["classes"],
                              "占该学段班级": [fmt_pct(v) for v in dist["share"]]})
    dist_view = dist_view.assign(_o=dist_view["班额区间"].map({b: k for k, b in enumerate(view.labels.bands)})).sort_values(
        ["学年", "学段", "_o"]).drop(columns="_o")
    detail_table("班额分布表（全部学年）", state.METRICS_DISTRIBUTION_DETAIL, dist_view, "班额分布", "metrics_distribution")


@st.fragment
def preschool_by_township(year_rows: pd.DataFrame, pre_series: dict[str, tuple[str, float]]) -> None:
    """One preschool rate by township; switching the rate reruns only this fragment, not the page."""
    # One indicator at a time keeps the chart readable; the detail table has all three.
    column = st.radio("按乡镇查看", list(pre_series), key=state.METRICS_INDICATOR, horizontal=True,
                      format_func=lambda c: pre_series[c][0], persist_state="page")
    label, target = pre_series[column]
    st.plotly_chart(figures.preschool_by_township(ctx.version, townships, year, column), width="stretch")
    short = short_townships(year_rows, column)
    takeaway(f"{year}有 {len(short)} 个乡镇{label}低于 {fmt_pct(target, 0)}" + (f"：{'、'.join(short)}。" if short else "。"))


def preschool_section() -> None:
    """学前教育: the three rates against their targets, by year and by township."""
    pre = view.preschool
    if pre.empty:
        missing_upload("尚未上传学前教育数据。")
        return
    totals = pre[pre["is_total"]].sort_values("year")
    pre_series = insights.preschool_series()
    st.plotly_chart(figures.preschool_trend(ctx.version, townships), width="stretch")
    last = totals.iloc[-1]
    missed, unknown = missed_targets(last, pre_series)
    verdict = ("未达标：" + "、".join(missed) + "。") if missed else ("三项均达标。" if not unknown else "")
    takeaway(f"{last['year']}：毛入园率 {fmt_pct(last['gross_enrollment'])}，普惠覆盖率 {fmt_pct(last['inclusive_coverage'])}，"
             f"公办园占比 {fmt_pct(last['public_share'])}。" + verdict
             + (("无法计算（缺人数）：" + "、".join(unknown) + "。") if unknown else ""))
    preschool_by_township(pre[(pre["year"] == year) & ~pre["is_total"]], pre_series)
    pre_view = pd.DataFrame({
        "学年": pre["year"], "乡镇（街道）": pre["township"], "3-5岁常住人口": pre["population_3_5"],
        "在园幼儿数": pre["enrolled"], "公办园在园幼儿数": pre["enrolled_public"], "普惠性民办园在园幼儿数": pre["enrolled_inclusive_private"],
        **pct_columns(pre, {"gross_enrollment": "毛入园率", "inclusive_coverage": "普惠性幼儿园覆盖率", "public_share": "公办园在园幼儿占比"}),
        "毛入园率达标": met_text(pre["gross_enrollment_ok"]), "普惠覆盖率达标": met_text(pre["inclusive_coverage_ok"]),
        "公办占比达标": met_text(pre["public_share_ok"]),
    })
    detail_table("学前教育明细（全部学年）", state.METRICS_PRESCHOOL_DETAIL, pre_view, "学前教育指标", "metrics_preschool")


def compulsory_section() -> None:
    """义务教育与特殊教育: gross enrollment and disabled children's enrollment."""
    comp = view.compulsory
    if comp.empty:
        missing_upload("尚未上传义务教育与特殊教育数据。")
        return
    totals = comp[comp["is_total"]].sort_values("year")
    st.plotly_chart(figures.compulsory_trend(ctx.version, townships), width="stretch")
    last = totals.iloc[-1]
    takeaway(f"{last['year']}：义务教育毛入学率 {fmt_pct(last['gross_enrollment'])}（城区学校吸纳农村学生时可超过100%），"
             f"适龄残疾儿童入学率 {fmt_pct(last['disabled_enrollment'])}（含随班就读、特教学校、送教上门）。设置文件暂无这两项的目标值。")
    year_rows = comp[(comp["year"] == year) & ~comp["is_total"]]
    st.plotly_chart(figures.disabled_enrollment(ctx.version, townships, year), width="stretch")
    lowest = year_rows.sort_values("disabled_enrollment").iloc[0] if len(year_rows) else None
    if lowest is not None:
        takeaway(f"{year}适龄残疾儿童入学率最低的是{lowest['township']}（{fmt_pct(lowest['disabled_enrollment'])}，"
                 f"{int(lowest['disabled_children'] - lowest['disabled_enrolled'])} 名未入学）。")
    comp_view = pd.DataFrame({
        "学年": comp["year"], "乡镇（街道）": comp["township"], "义务教育适龄人口": comp["population"],
        "义务教育在校生数": comp["enrolled"], "适龄残疾儿童数": comp["disabled_children"], "残疾儿童入学数": comp["disabled_enrolled"],
        **pct_columns(comp, {"gross_enrollment": "义务教育毛入学率", "disabled_enrollment": "适龄残疾儿童入学率"}),
    })
    detail_table("义务教育与特殊教育明细（全部学年）", state.METRICS_COMPULSORY_DETAIL, comp_view, "义务教育与特殊教育指标", "metrics_compulsory")


@st.fragment
def link_section() -> None:
    """与满意度的关联: township satisfaction against 大班额 share and 普惠 coverage (a fragment: its measure
    selector reruns only this section)."""
    if ctx.wave is None:
        st.info("尚未上传问卷数据，无法与满意度关联。", icon=":material/info:")
        return
    link_measures = ["overall", *[i for i in ("大班额治理", "入园难入园贵") if i in cfg.items]]
    measure = st.selectbox("满意度指标", link_measures, key=state.METRICS_MEASURE, persist_state="page",
                           format_func=lambda m: insights.OVERALL_LABEL if m == "overall" else f"分项：{m}")
    measure_label = figures.measure_label(measure)
    link = insights.link_view(ctx.version, ctx.wave, county, townships, measure)
    st.info(f"满意度取 {escape_markdown(ctx.wave)} 的问卷，办学指标取最近学年 {escape_markdown(link.year or '—')}：两者时间不完全对应，"
            "测评反映的是受访者对近期情况的感受。", icon=":material/event:")
    usable = link.table.dropna(subset=["score"])
    if usable.empty:
        st.warning(f"{escape_markdown(ctx.wave)} 的问卷中没有所选乡镇的答卷，无法关联。")
        return
    st.plotly_chart(figures.satisfaction_link(ctx.version, ctx.wave, county, townships, measure), width="stretch")
    takeaway(association_sentence(link.crowding, "大班额占比", measure_label))
    takeaway(association_sentence(link.coverage, "普惠性幼儿园覆盖率", measure_label))
    few = "点数很少，" if link.crowding["n"] < FEW_POINTS else ""
    st.caption(f":material/warning: 相关只用样本不少于 {cfg.min_group_n} 份的 {int(link.crowding['n'])} 个乡镇（{few}一两个乡镇就能改变相关的方向），"
               "灰点乡镇样本不足、得分误差大，只画出不计入；相关不等于因果，只说明“拥挤的乡镇是否也是不满意的乡镇”。")
    link_view = pd.DataFrame({
        "乡镇（街道）": usable["township"], "样本量": usable["n"], f"{measure_label}得分": usable["score"].round(2),
        **pct_columns(usable, {"large_share": f"大班额占比（{link.year}）", "inclusive_coverage": f"普惠性幼儿园覆盖率（{link.year}）"}),
    }).sort_values(f"{measure_label}得分")
    st.dataframe(link_view, hide_index=True, width="stretch")
    download_table(link_view, f"乡镇满意度与办学指标_{ctx.wave}", "metrics_link")


# Only the open tab runs (lazy tabs): the sections together hold more charts than a page should draw at once.
SECTIONS = {"班额": class_section, "班额分布（乡镇与班级）": class_distribution_section, "学前教育": preschool_section,
            "义务教育与特殊教育": compulsory_section, "与满意度的关联": link_section}
lazy_tabs(SECTIONS, state.METRICS_TAB)
