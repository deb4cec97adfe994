"""分项指标: where the points are lost — item scores against the city and the strive county, importance, fix-first, comments."""

import pandas as pd
import streamlit as st

from analysis.formatting import escape_markdown, fmt_pct
from analysis.report.wording import stability_sentence
from analysis.stats.drivers import QUADRANT_FOCUS, QUADRANT_RED_LINE
from analysis.survey.comments import topic_samples
from analysis.survey.itemmodel import MISSING_NOTE
from analysis.survey.items import MIN_DRIVER_N
from ui import insight_figures as figures
from ui import insight_sections as sections
from ui import insights, state
from ui.widgets import detail_expander, download_table, lazy_tabs, page_context, plain, require_survey_wave, takeaway

ctx = page_context()
cfg = ctx.settings
st.title(plain(f"{ctx.home}分项指标"))  # short enough for one line on a 390-px phone
require_survey_wave(ctx)

townships = insights.township_filter(state.ITEMS_TOWNSHIPS, insights.home_townships(ctx.version, ctx.home))
view = insights.item_view(ctx.version, ctx.wave, ctx.home, townships)
summary = insights.item_summary(ctx.version, ctx.wave, ctx.home, townships)
scope = insights.scope_label(ctx.home, townships)
if not summary.answered:
    st.warning(f"{escape_markdown(ctx.wave)} 没有{escape_markdown(scope)}的分项答卷。请换一个批次或乡镇，或在“数据管理”页上传。")
    st.stop()

strive_name = view.strive_county or "—"
# Drawn once per version, wave, county and township filter, then replayed for every visit (ui/caching.sent_section).
sections.item_header(ctx.version, ctx.wave, ctx.home, townships)

@st.fragment
def topic_comments(long: pd.DataFrame, topics: list[str]) -> None:
    """One topic's verbatim comments; choosing another topic reruns only this fragment, not the page."""
    topic = st.selectbox("查看某一主题的意见原文", topics, key=state.ITEMS_TOPIC, persist_state="page")
    samples = topic_samples(long, topic)
    st.dataframe(samples.rename(columns={"comment": "意见原文", "times": "条数"}), hide_index=True, width="stretch")
    st.caption("意见原文按纯文本显示；同样的意见合并计数，最多显示 10 条。")


def scores_section() -> None:
    """Each item against the city mean and the strive county, with CIs."""
    sections.item_scores(ctx.version, ctx.wave, ctx.home, townships)
    download_table(summary.scores, f"分项得分_{ctx.wave}", "items_scores")


def drivers_missing() -> bool:
    """Say why the item importances could not be computed (True), or nothing (False)."""
    if view.drivers is None:
        st.info(escape_markdown(f"无法计算分项重要性：{view.driver_error}。可尝试不筛选乡镇，或换一个样本更多的批次。"), icon=":material/info:")
    return view.drivers is None


def importance_section() -> None:
    """Which items move overall satisfaction most: relative weights, correlations and the IPA quadrants."""
    if drivers_missing():
        return
    drivers, fix = view.drivers, view.fix
    if view.n < MIN_DRIVER_N:
        st.warning(f"所选范围只有 {view.n} 份问卷，重要性估计波动较大，仅供参考。", icon=":material/warning:")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(figures.item_importance(ctx.version, ctx.wave, ctx.home, townships), width="stretch")
        top = drivers.sort_values("rescaled", ascending=False).iloc[0]
        moved = drivers[drivers["rank_weight"] != drivers["rank_corr"]]
        takeaway(f"“{top['item']}”对总体满意度影响最大（相对权重 {fmt_pct(top['rescaled'])}）；"
                 f"各分项共同解释了总体满意度差异的 {fmt_pct(top['r2'])}。"
                 + (f"有 {len(moved)} 个分项按相对权重和按相关系数的排序不同：相关系数会把分项之间的重叠重复计算。" if len(moved) else ""))
    with right:
        st.plotly_chart(figures.item_quadrants(ctx.version, ctx.wave, ctx.home, townships), width="stretch")
        key_items = fix.loc[fix["quadrant"] == QUADRANT_FOCUS, "item"].tolist()
        red = fix.loc[fix["quadrant"] == QUADRANT_RED_LINE, "item"].tolist()
        takeaway((f"{QUADRANT_FOCUS}（重要但得分偏低）：" + "、".join(key_items) + "。" if key_items
                  else f"没有分项落在“{QUADRANT_FOCUS}”象限。")
                 + (f"{'、'.join(red)}是政策底线，无论统计上重要性如何都须守住。" if red else ""))
    importance_view = pd.DataFrame({
        "分项": drivers["item"],
        "相对权重占比": [fmt_pct(v) for v in drivers["rescaled"]],
        "相对权重（原始）": drivers["raw_weight"].round(4),
        "相对权重排序": drivers["rank_weight"],
        "相关系数": drivers["corr"].round(3),
        "相关系数排序": drivers["rank_corr"],
    }).sort_values("相对权重排序")
    st.caption(f"相对权重按 Johnson（2000）方法，由调查加权相关矩阵计算；象限以重要性和得分的平均值划分。{MISSING_NOTE}"
               f"本次用到 {drivers.attrs.get('n_used', view.n)} 人（总体满意度计分者），其中 {drivers.attrs.get('n_partial', 0)} 人"
               "有分项未计分、其已答分项照常计入，填补 0 人。")
    st.dataframe(importance_view, hide_index=True, width="stretch")
    download_table(importance_view, f"分项重要性_{ctx.wave}", "items_importance")


def fix_first_section() -> None:
    """Which item to fix first: importance times the gap to the strive county."""
    if drivers_missing():
        return
    fix = view.fix.assign(joint_gain=insights.fix_joint_gains(ctx.version, ctx.wave, ctx.home, townships))
    st.markdown(f"预计提升 = 把本县该分项提到**{escape_markdown(strive_name)}**的水平（该项答“满意”以下的受访者按同一比例各上调一档）后，"
                "按“目标推演”页的同一模型（各分项对总体满意度的回归系数，每人总体得分最高 100 分）推算的总体得分变化。"
                "用于排先后，不是预测；本县已领先的分项记为 0。")
    first = summary.fix_first  # the item the cards above and 总览 name
    if first is not None:
        st.plotly_chart(figures.item_fix_first(ctx.version, ctx.wave, ctx.home, townships), width="stretch")
        gains = fix.loc[view.gains.index]  # with the joint gains
        top3 = gains.head(3)
        takeaway(f"先改“{first['item']}”：补齐与{strive_name}的差距后总体得分预计 +{first['expected_gain']:.2f} 分；"
                 f"前{len(top3)}项同时补齐约 +{top3['joint_gain'].iloc[-1]:.2f} 分。")
        if pd.notna(view.overall_gap):
            st.caption(plain(f"注意：按这一模型，补齐全部落后分项可提升 {gains['joint_gain'].iloc[-1]:.2f} 分，而本县总体得分实际"
                             f"{'落后' if view.overall_gap < 0 else '领先'}{strive_name} {abs(view.overall_gap):.2f} 分。"
                             "分项差距不能直接相加成总体差距，这些数字只用来排先后。"))
        stability = insights.fix_stability(ctx.version, ctx.wave, ctx.home, townships)
        if len(stability):
            takeaway(stability_sentence(stability, first["item"], strive_name))
    else:
        st.success(plain(f"本县各分项均不低于{strive_name}，没有需要追赶的分项。"), icon=":material/check_circle:")
    fix_view = pd.DataFrame({
        "优先顺序": fix["priority"],
        "分项": fix["item"],
        "象限": fix["quadrant"],
        "本县得分": fix["score"].round(2),
        f"{strive_name}得分": fix["strive_score"].round(2),
        "差距（分）": fix["shortfall"].round(2),
        "回归系数": fix["beta"].round(3),
        "相对权重占比": [fmt_pct(v) for v in fix["rescaled"]],
        "预计总体得分提升（分）": fix["expected_gain"].round(2),
        "与前面各项同时补齐（分）": fix["joint_gain"].round(2),
    })
    st.dataframe(fix_view, hide_index=True, width="stretch")
    download_table(fix_view, f"整改优先顺序_{ctx.wave}", "items_fix")


def comments_section() -> None:
    """Residents' comments by topic, with the verbatim text."""
    comments = insights.comment_view(ctx.version, ctx.wave, ctx.home, townships)
    if comments.n_comments == 0:
        st.info(f"{escape_markdown(ctx.wave)} {escape_markdown(scope)}的问卷中没有填写意见建议。", icon=":material/chat:")
    else:
        counts = comments.counts
        left, right = st.columns([2, 3])
        with left:
            st.plotly_chart(figures.comment_topics(ctx.version, ctx.wave, ctx.home, townships), width="stretch")
            busiest = counts.sort_values("comments", ascending=False).iloc[0]
            takeaway(f"共 {comments.n_comments} 条意见；提到最多的是“{busiest['topic']}”（{int(busiest['comments'])} 条，"
                     f"占 {fmt_pct(busiest['share'])}）。分类按设置文件中的关键词规则。")
        with right:
            topics = counts.loc[counts["comments"] > 0].sort_values("comments", ascending=False, kind="stable")["topic"].tolist()
            topic_comments(comments.long, topics)
        counts_view = pd.DataFrame({"主题": counts["topic"], "意见条数": counts["comments"],
                                    "占全部意见": [fmt_pct(v) for v in counts["share"]]})
        download_table(counts_view, f"意见主题统计_{ctx.wave}", "items_comment_counts")
        all_comments = comments.long.rename(columns={"topic": "主题", "comment": "意见原文", "township": "乡镇（街道）"})
        with detail_expander("全部意见（按主题）", state.ITEMS_ALL_COMMENTS) as box:
            if box.open:
                st.dataframe(all_comments, hide_index=True, width="stretch")
                download_table(all_comments, f"意见建议_{ctx.wave}", "items_comments_all")


# Only the open tab runs (lazy tabs): together the sections hold five charts and six tables.
lazy_tabs({"各分项得分对比": scores_section, "哪些分项影响最大": importance_section, "先改哪一项": fix_first_section,
           "群众意见建议": comments_section}, state.ITEMS_TAB)
