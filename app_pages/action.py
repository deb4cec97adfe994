"""整改跟踪: work orders (民意诉求), the 问题台账, item scores around closed problems, 家访 coverage and the 约谈名单.

Leadership reads; analysts add and edit ledger problems (checked again when the button's callback runs)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analysis.data import ledger, store
from analysis.data.contract import LEDGER, LEDGER_SOURCES, LEDGER_STATES, OTHER_ITEM
from analysis.data.templates import template_csv
from analysis.formatting import fmt_pct, fmt_time, pct_text
from analysis.survey import action
from analysis.survey.school_metrics import association_sentence, township_association
from ui import action as action_data
from ui import auth, data, state
from ui.widgets import download_table, lazy_tabs, page_context, plain, takeaway


def no_upload(label: str) -> None:
    """Chinese empty state: what is missing and where to upload it."""
    st.info(f"尚未上传{label}。请分析员在“数据管理”页选择“{label}”上传（空白模板也在该页）。", icon=":material/upload_file:")
    st.page_link("app_pages/data_admin.py", label="前往数据管理", icon=":material/database:")


def errors_text(checked) -> str:
    """The first ledger check errors as one line: column and reason (an edit has one row, so no row numbers)."""
    return "；".join(f"{r.列}：{r.问题}" for r in checked.errors.head(5).itertuples())


def add_rows(rows: list[dict]) -> None:
    """Store new ledger problems (a button callback; the role is checked when it runs, not when it was drawn)."""
    if not auth.can_change_data():
        st.session_state[state.ACTION_FLASH_ERROR] = auth.access_notice()
        return
    try:
        checked, ids = ledger.add_problems(data.engine(), pd.DataFrame(rows, index=range(1, len(rows) + 1)),
                                           data.settings(), auth.current_user())
    except store.StoreError as exc:
        st.session_state[state.ACTION_FLASH_ERROR] = str(exc)
        return
    if not checked.ok:
        st.session_state[state.ACTION_FLASH_ERROR] = f"未保存：{errors_text(checked)}"
        return
    st.session_state[state.ACTION_FLASH] = f"已新增台账问题 {'、'.join(ids)}。"


def edit_keys(ledger_id: str) -> dict[str, str]:
    """Widget keys of the edit form, one set per problem (a shared key would carry one problem's dates to the next)."""
    return {name: f"edit_{name}_{ledger_id}" for name in ("state", "measure", "owner", "deadline", "closed")}


def save_edit(ledger_id: str) -> None:
    """Store the edit form's changes to one problem (callback; role checked at the moment of the action)."""
    if not auth.can_change_data():
        st.session_state[state.ACTION_FLASH_ERROR] = auth.access_notice()
        return
    s = st.session_state
    key = edit_keys(ledger_id)
    closed, deadline = s.get(key["closed"]), s.get(key["deadline"])
    changes = {"state": s.get(key["state"]), "measure": s.get(key["measure"]) or None, "owner": s.get(key["owner"]) or None,
               "deadline": deadline.isoformat() if deadline else None, "closed": closed.isoformat() if closed else None}
    try:
        checked, changed = ledger.update_problem(data.engine(), ledger_id, changes, data.settings(), auth.current_user())
    except store.StoreError as exc:
        s[state.ACTION_FLASH_ERROR] = str(exc)
        return
    if not checked.ok:
        s[state.ACTION_FLASH_ERROR] = f"未保存：{errors_text(checked)}"
    elif not changed:
        s[state.ACTION_FLASH] = f"{ledger_id} 没有任何修改。"
    else:
        s[state.ACTION_FLASH] = f"已保存 {ledger_id}：" + "、".join(LEDGER.header_of(k) for k in changed) + "。"


def manual_row() -> None:
    """The 'by hand' form's values as a new problem."""
    s = st.session_state
    add_rows([{"item": s.get("new_item"), "township": s.get("new_township") or None, "school": s.get("new_school") or None,
               "problem": s.get("new_problem") or None, "source": s.get("new_source"), "measure": s.get("new_measure") or None,
               "owner": s.get("new_owner") or None, "created": dt.date.today().isoformat(),
               "deadline": s["new_deadline"].isoformat() if s.get("new_deadline") else None, "state": "未整改", "closed": None}])


def upload_ledger(upload) -> None:
    """A ledger file added through the upload pipeline (callback)."""
    if not auth.can_change_data():
        st.session_state[state.ACTION_FLASH_ERROR] = auth.access_notice()
        return
    try:
        checked, ids = ledger.import_ledger(data.engine(), upload.getvalue(), upload.name, data.settings(), auth.current_user())
    except (store.StoreError, ValueError) as exc:
        st.session_state[state.ACTION_FLASH_ERROR] = f"“{upload.name}”未导入：{exc}"
        return
    if not checked.ok:
        lines = [f"第 {r.行号} 行“{r.列}”：{r.问题}" for r in checked.errors.head(10).itertuples()]
        st.session_state[state.ACTION_FLASH_ERROR] = f"“{upload.name}”有 {len(checked.errors)} 处错误，未导入：" + "；".join(lines)
        return
    st.session_state[state.ACTION_FLASH] = f"已从“{upload.name}”新增台账问题 {len(ids)} 项。"


def orders_section() -> None:
    """Work orders by item, township and month; 办结率, 回访满意率; clusters that suggest a ledger entry."""
    tab = action_data.orders_tab(ctx.version, as_of)
    if tab is None:
        no_upload("民意诉求工单")
        return
    # Drawn once per version and day, then replayed (ui/caching.sent_section); downloads and the picker stay here.
    action_data.orders_overview(ctx.version, as_of)
    download_table(tab.by_item, "工单办理情况", "action_orders_table")
    action_data.clusters_table(ctx.version, as_of)
    if tab.clusters.empty:
        return
    download_table(tab.clusters_shown, "工单聚集", "action_clusters")
    fresh, label = tab.fresh, tab.fresh_labels
    if allowed and not fresh.empty:
        # Lazy (a keyed expander reruns when toggled): the picker lists every cluster not yet in the ledger, and most
        # visits only read the tables, so it is drawn only while open (issue 15: every element costs server time).
        with st.expander("从工单聚集新建台账问题", key=state.ACTION_CLUSTER_OPEN, on_change="rerun",
                         icon=":material/add_task:") as box:
            if box.open:
                pick = st.selectbox("工单聚集", range(len(fresh)), format_func=lambda k: label[k], key="cluster_pick")
                row = fresh.iloc[pick]
                draft = action.draft_from_cluster(row["item"], row["township"], row["order_ids"], int(row["orders"]),
                                                  dt.date.today())
                st.button("加入问题台账", key="cluster_add", on_click=add_rows,
                          args=([draft | {"owner": f"{row['township']}教育办"}],), icon=":material/add_task:")


def ledger_section() -> None:
    """The ledger with 销号率 and overdue problems; analysts edit, add and upload."""
    problems = action_data.problems(ctx.version)
    if problems.empty:
        st.info("问题台账还是空的。分析员可以在下方手工新增、从工单聚集新建，或上传已有台账（模板见下方）。", icon=":material/inventory:")
    else:
        summary, export = action_data.ledger_tables(ctx.version, as_of)
        with st.container(horizontal=True, gap="small"):
            st.metric("台账问题", f"{summary['problems']} 项")
            st.metric("销号率", fmt_pct(summary["closure_rate"]), help="已销号 ÷ 全部问题")
            st.metric("逾期未销号", f"{summary['overdue']} 项", help=f"截至 {as_of.isoformat()} 已过完成时限、尚未销号")
        overdue = export["是否逾期"] == "是"
        st.dataframe(export.style.apply(lambda r: ["background-color: #FADBD8" if overdue[r.name] else "" for _ in r], axis=1),
                     hide_index=True, width="stretch")
        takeaway(f"逾期问题以红色标出：{summary['overdue']} 项；已销号 {summary['closed']} 项，共 {summary['problems']} 项。")
        download_table(export, "问题台账", "action_ledger")
        with st.expander("修改记录（每次新增、修改、销号）"):
            events = action_data.history(ctx.version)
            events = events.assign(at=events["at"].map(fmt_time), action=events["action"].map(lambda a: EVENT_LABELS.get(a, a)))
            events = events.rename(columns={"ledger_id": "台账编号", "at": "时间", "user": "操作人", "action": "操作",
                                            "fields_json": "修改内容"})
            st.dataframe(events.drop(columns="id"), hide_index=True, width="stretch")
            download_table(events, "台账修改记录", "action_history")
    if not allowed:
        st.caption(plain(auth.access_notice()))
        return
    if not problems.empty:
        st.markdown("**修改或销号**")
        ids = problems["ledger_id"].tolist()
        pick = st.selectbox("台账编号", ids, key="edit_id", persist_state="page")
        row = problems[problems["ledger_id"] == pick].iloc[0]
        key = edit_keys(pick)
        with st.form("edit_form"):
            st.selectbox("整改状态", LEDGER_STATES, index=LEDGER_STATES.index(row["state"]), key=key["state"])
            st.text_area("整改措施", value=row["measure"] or "", key=key["measure"])
            st.text_input("责任单位", value=row["owner"] or "", key=key["owner"])
            st.date_input("完成时限", value=dt.date.fromisoformat(row["deadline"]), key=key["deadline"])
            st.date_input("销号日期（销号时不填则为今天）", value=dt.date.fromisoformat(row["closed"]) if isinstance(row["closed"], str) else None,
                          key=key["closed"])
            st.form_submit_button("保存修改", on_click=save_edit, args=(pick,), icon=":material/save:")
    with st.expander("手工新增问题"):
        with st.form("new_form", clear_on_submit=True):
            st.selectbox("分项", [*cfg.items, OTHER_ITEM], key="new_item")
            st.text_input("乡镇（街道）", key="new_township")
            st.text_input("学校", key="new_school")
            st.text_area("问题描述", key="new_problem")
            st.selectbox("问题来源", LEDGER_SOURCES, key="new_source")
            st.text_area("整改措施", key="new_measure")
            st.text_input("责任单位", key="new_owner")
            st.date_input("完成时限", value=dt.date.today() + dt.timedelta(days=30), key="new_deadline")
            st.form_submit_button("新增", on_click=manual_row, icon=":material/add:")
    with st.expander("上传已有台账（CSV 或 .xlsx）"):
        st.download_button("下载问题台账模板", template_csv("ledger", cfg.items), file_name="问题台账模板.csv", mime="text/csv",
                           key="ledger_template", icon=":material/download:", on_click="ignore")
        upload = st.file_uploader("选择台账文件", type=["csv", "txt", "xlsx"], key="ledger_upload")
        if upload is not None:
            st.button("导入台账", key="ledger_import", on_click=upload_ledger, args=(upload,), icon=":material/upload:")


def items_section() -> None:
    """An item's score by wave, with markers where its ledger problems were closed and the before/after change."""
    responses = data.home_responses(ctx.version, ctx.home)
    if responses.empty:
        st.info("尚未上传本县问卷，无法显示分项得分。请分析员在“数据管理”页上传调查问卷。", icon=":material/upload_file:")
        return
    problems = action_data.problems(ctx.version)
    closed = problems[problems["state"] == action.CLOSED_LEDGER] if not problems.empty else problems
    counts = closed["item"].value_counts() if not closed.empty else pd.Series(dtype=int)
    items = sorted(cfg.items, key=lambda i: -int(counts.get(i, 0)))  # items with closed problems first
    item = st.selectbox("分项", items, key="action_item", persist_state="page")
    scores, mine, _ = action_data.item_history(ctx.version, ctx.home, item)
    st.plotly_chart(action_data.item_chart(ctx.version, ctx.home, item), width="stretch")
    rows = []
    for r in mine.itertuples():
        change = action.before_after(scores, r.closed, cfg.coverage)
        if change:
            rows.append({"台账编号": r.ledger_id, "乡镇（街道）": r.township, "销号日期": r.closed, "之前": change["before_wave"],
                         "之前得分": round(change["before"], 2), "之后": change["after_wave"], "之后得分": round(change["after"], 2),
                         "变化": round(change["change"], 2), "95%置信区间": f"{change['ci_low']:.2f} ~ {change['ci_high']:.2f}",
                         "p 值": round(change["p"], 4)})
    if not rows:
        takeaway(f"“{item}”没有前后都有测评批次的销号问题，无法比较整改前后。")
        return
    table = pd.DataFrame(rows)
    first = rows[0]
    takeaway(f"{first['台账编号']} 销号前后，“{item}”得分由 {first['之前得分']:.1f} 变为 {first['之后得分']:.1f}"
                   f"（{first['变化']:+.1f} 分，95%置信区间 {first['95%置信区间']}）。")
    st.caption(action.ASSOCIATION_NOTE)
    st.dataframe(table, hide_index=True, width="stretch")
    download_table(table, f"{item}整改前后", "action_before_after")


def visits_section() -> None:
    """家访 coverage by school and township, against the township's parent satisfaction (Spearman)."""
    visits = action_data.visits(ctx.version)
    if visits.empty:
        no_upload("教师全员大家访")
        return
    years = sorted(visits["year"].unique())
    year = st.selectbox("年度", years, index=len(years) - 1, key="action_visit_year", persist_state="page")
    part = visits[visits["year"] == year]
    towns = action_data.visit_towns(ctx.version, ctx.home, year, ctx.wave)
    wave = ctx.wave
    if "score" in towns.columns and wave is not None:
        linked = towns.dropna(subset=["score"])
        if len(linked) >= 3:
            st.plotly_chart(action_data.visits_chart(ctx.version, ctx.home, year, wave), width="stretch")
            # The same test and words as 办学指标's township associations (a direction only when significant, always an
            # area-level association), over every township with parents in the wave: parents alone are 11–70 a
            # township, so 办学指标's 30-respondent floor would leave too few to test; the table shows each sample.
            takeaway(association_sentence(township_association(linked, "coverage", min_n=1),
                                          f"{year}家访覆盖率", f"{wave}家长满意度"))
        else:
            st.info("有家长问卷的乡镇不足 3 个，无法计算相关。", icon=":material/info:")
    rounded = towns.round({"score": 2, "ci_low": 2})  # scores as everywhere else: 85.73, not 85.7349
    view = pct_text(rounded, ["coverage"]).rename(columns={"township": "乡镇（街道）", "enrolled": "在校学生数", "visited": "已家访学生数",
                                                         "coverage": "家访覆盖率", "score": "家长满意度", "ci_low": "置信下限",
                                                         "n": "家长样本"})
    st.markdown("**各乡镇家访覆盖率**")
    st.dataframe(view, hide_index=True, width="stretch")
    download_table(view, "乡镇家访覆盖率", "action_visit_towns")
    schools = pct_text(action.coverage_by(part, ["township", "school"]).sort_values("coverage"), ["coverage"]).rename(
        columns={"township": "乡镇（街道）", "school": "学校", "enrolled": "在校学生数", "visited": "已家访学生数", "coverage": "家访覆盖率"})
    st.markdown("**各学校家访覆盖率（由低到高）**")
    st.dataframe(schools, hide_index=True, width="stretch")
    download_table(schools, "学校家访覆盖率", "action_visit_schools")


def attention_section() -> None:
    """约谈名单 with the reasons in one line per unit."""
    rules = cfg.action
    table = action_data.attention(ctx.version, ctx.home, as_of)
    st.caption(f"列入规则（设置文件 [action]）：最新一期乡镇得分低于全县的漏斗图 {rules.funnel_coverage:.0%} 下限；"
               f"得分连续 {rules.fall_waves} 期下降；有逾期未销号的台账问题；最近一个月工单超过前 {rules.spike_months} 个月"
               f"月均的 {rules.spike_ratio:g} 倍（且不少于 {rules.spike_min_orders} 件）。")
    if table.empty:
        st.success("按现行规则，没有需要约谈的乡镇或学校。", icon=":material/check_circle:")
        return
    view = table.rename(columns={"type": "类型", "unit": "单位", "reasons": "列入原因", "n_reasons": "原因数"})
    takeaway(f"共 {len(view)} 个单位列入约谈名单，原因最多的是“{view['单位'].iloc[0]}”（{view['原因数'].iloc[0]} 条）。")
    st.dataframe(view, hide_index=True, width="stretch")
    download_table(view, "约谈名单", "action_attention")


# What each ledger event did, in Chinese (a close is an update that sets 已销号).
EVENT_LABELS = {"create": "新增", "update": "修改"}

ctx = page_context()
cfg = ctx.settings
st.title("整改跟踪")
st.caption(plain(f"{ctx.home}：民意诉求、问题台账、整改前后的分项得分、教师全员大家访与约谈名单。"))
allowed = auth.can_change_data()
if state.ACTION_FLASH in st.session_state:
    st.success(plain(st.session_state.pop(state.ACTION_FLASH)), icon=":material/check_circle:")
if state.ACTION_FLASH_ERROR in st.session_state:
    st.error(plain(st.session_state.pop(state.ACTION_FLASH_ERROR)), icon=":material/error:")
as_of = st.date_input("统计截止日期（逾期按此计算）", value=dt.date.today(), key="action_as_of")
lazy_tabs({"民意诉求": orders_section, "问题台账": ledger_section, "整改前后": items_section, "大家访": visits_section,
           "约谈名单": attention_section}, key="action_tabs")
