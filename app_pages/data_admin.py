"""数据管理: analysts upload, check, confirm, replace, delete and restore; everyone sees what is stored."""

import streamlit as st

from analysis.data import store
from analysis.data.contract import KIND_KEYS
from analysis.data.importing import (commit_import, file_sha256, prepare_import, same_file_text, summary_line,
                                     workbook_sheets)
from analysis.data.readers import ReadError
from analysis.data.templates import template_csv, template_frame
from analysis.data.waves import sort_waves
from analysis.formatting import fmt_rank_of, xlsx_bytes
from ui import auth, data, records, state
from ui.records import KIND_LABELS
from ui.widgets import download_buttons, download_table, page_context, plain

ERROR_ROWS_SHOWN = 1000
ACCEPTED_TYPES = ["csv", "txt", "xlsx"]  # what analysis.data.readers reads (a .txt is tab- or comma-separated text)
# Where an import shows up: the page to open next, per kind of file.
NEXT_PAGE = {"responses": ("app_pages/overview.py", "查看总览 →"), "published": ("app_pages/ranking.py", "查看排名 →"),
             "preschool": ("app_pages/metrics.py", "查看办学指标 →"), "compulsory": ("app_pages/metrics.py", "查看办学指标 →"),
             "classes": ("app_pages/metrics.py", "查看办学指标 →"), "petitions": ("app_pages/action.py", "查看整改跟踪 →"),
             "home_visits": ("app_pages/action.py", "查看整改跟踪 →")}


def upload_limit_mb() -> int:
    """server.maxUploadSize in MB (the uploader refuses bigger files before they reach the app)."""
    return int(st.get_option("server.maxUploadSize"))


def confirm_import(plan, replace: bool) -> None:
    """Store the checked plan (a button callback, so its outcome shows on the run it triggers, without st.rerun)."""
    if not auth.can_change_data():  # checked again: the callback runs on the next request, not when the button was drawn
        st.session_state[state.UPLOAD_FLASH_ERROR] = auth.access_notice()
        return
    try:
        records = commit_import(data.engine(), plan, auth.current_user(), replace=replace)
    except store.StoreError as exc:
        st.session_state[state.UPLOAD_FLASH_ERROR] = str(exc)
        return
    st.session_state.pop(state.PLAN, None)
    # A fresh uploader key empties the uploader, so the imported file is not offered for a second import.
    st.session_state[state.UPLOAD_ROUND] = st.session_state.get(state.UPLOAD_ROUND, 0) + 1
    periods = sort_waves(r["period"] for r in records)
    if plan.kind.key == "responses":
        st.session_state[state.NEXT_WAVE] = periods[-1]  # the latest by time; the sidebar selects it before drawing
    st.session_state[state.UPLOAD_FLASH] = summary_line(plan, records)
    st.session_state[state.UPLOAD_FLASH_DONE] = (plan.kind.key, periods)


def where_to_look(kind_key: str, periods: list[str], ctx) -> None:
    """What the import changed, in one line, and a link to the page that shows it."""
    names = "、".join(periods)
    target, label = NEXT_PAGE.get(kind_key, NEXT_PAGE["responses"])
    text = f"已导入 {names}"
    if kind_key == "responses":
        result = data.wave_ranking(ctx.version, periods[-1])
        home = data.county_row(ctx.version, periods[-1], ctx.home)
        if home is not None and home["source"] == "survey":
            text += f"；{ctx.home}（本局调查推算）{fmt_rank_of(home['rank'], len(result.table))}"
        elif not result.ok:
            text += f"；{result.basis.missing_sentence()}"
    st.markdown(plain(text + "。"))
    st.page_link(target, label=label, icon=":material/arrow_forward:")



def upload_digest(upload) -> str:
    """SHA-256 of the uploaded bytes, computed once per upload (hashing 200 MB on every rerun costs ~0.3 s)."""
    digests = st.session_state.setdefault(state.UPLOAD_DIGESTS, {})
    if upload.file_id not in digests:
        digests.clear()  # only the current upload's digest is worth keeping
        digests[upload.file_id] = file_sha256(upload.getvalue())
    return digests[upload.file_id]


def sheet_names(raw: bytes, sha: str, cfg) -> list[str]:
    """The workbook's sheet names ([] when not a workbook), opened once per file (by SHA-256), not on every rerun."""
    cached = st.session_state.get(state.UPLOAD_SHEETS)
    if not cached or cached[0] != sha:
        cached = (sha, workbook_sheets(raw, cfg))
        st.session_state[state.UPLOAD_SHEETS] = cached
    return cached[1]


ctx = page_context()
cfg = ctx.settings
engine = data.engine()
st.title("数据管理")
allowed = auth.can_change_data()
(st.success if allowed else st.warning)(auth.access_notice(), icon=":material/lock_open:" if allowed else ":material/lock:")
if state.UPLOAD_FLASH in st.session_state:
    with st.container(border=True):
        st.success(plain(st.session_state.pop(state.UPLOAD_FLASH)), icon=":material/check_circle:")
        if state.UPLOAD_FLASH_DONE in st.session_state:
            where_to_look(*st.session_state.pop(state.UPLOAD_FLASH_DONE), ctx)
if state.UPLOAD_FLASH_ERROR in st.session_state:
    st.error(plain(st.session_state.pop(state.UPLOAD_FLASH_ERROR)), icon=":material/error:")

if allowed:
    st.subheader("上传文件")
    kind_key = st.radio("文件类型", KIND_KEYS, format_func=KIND_LABELS.get, horizontal=True, key="upload_kind")
    limit_mb = upload_limit_mb()
    upload = st.file_uploader(
        f"选择 CSV 或 Excel（.xlsx）文件：拖到下框中，或点框内按钮选择（单个文件不超过 {limit_mb} MB、{cfg.max_rows:,} 行）",
        type=ACCEPTED_TYPES, key=f"upload_file_{st.session_state.get(state.UPLOAD_ROUND, 0)}",
        help=f"支持 UTF-8、UTF-8（带BOM）与 GBK/GB18030 编码的 CSV（或制表符分隔的 .txt），以及 .xlsx。"
             "旧版 .xls 与 Numbers 文件请先另存为 .xlsx 或 CSV。"
             f"超过 {limit_mb} MB 的文件请拆分后分批上传，或请管理员用命令行导入。")
    if upload is not None:
        raw = upload.getvalue()
        sha = upload_digest(upload)
        sheets = sheet_names(raw, sha, cfg)
        sheet = (st.selectbox("工作表", sheets, key="upload_sheet") if len(sheets) > 1 else sheets[0]) if sheets else None
        plan_key = (sha, kind_key, sheet, ctx.version)
        cached = st.session_state.get(state.PLAN)
        try:
            if cached and cached[0] == plan_key:
                plan = cached[1]
            else:
                with st.spinner("正在读取并检查文件…"):
                    plan = prepare_import(raw, upload.name, kind_key, cfg, engine, sheet=sheet, max_bytes=limit_mb * 2**20,
                                          sha256=sha)
                st.session_state[state.PLAN] = (plan_key, plan)
        except ReadError as exc:
            st.error(plain(f"无法读取“{upload.name}”：{exc}"), icon=":material/error:")
            st.caption("未写入任何数据。")
            st.stop()
        st.caption(plain(f"文件编码：{plan.read.encoding}" + (f"；工作表：{plan.read.sheet}" if plan.read.sheet else "")
                         + f"；数据行 {len(plan.validation.frame):,} 行；表头在第 {plan.read.header_row} 行"))
        for notice in plan.read.notices:
            st.info(plain(notice), icon=":material/info:")
        for warning in plan.validation.warnings:
            st.warning(plain(warning), icon=":material/warning:")
        if plan.same_file:
            st.info(plain(same_file_text(plan)), icon=":material/content_copy:")
        if not plan.ok:
            errors = plan.validation.errors
            st.error(f"文件有 {len(errors):,} 处错误，未导入任何数据。请按下表（行号即 Excel 中的行号）修改后重新上传。",
                     icon=":material/error:")
            if len(errors) > ERROR_ROWS_SHOWN:
                st.caption(f"下表只显示前 {ERROR_ROWS_SHOWN:,} 处，完整清单请下载。")
            st.dataframe(errors.head(ERROR_ROWS_SHOWN), hide_index=True, width="stretch")
            # Shown at once: the error list is what the analyst needs next (a refused file is not a page everyone opens).
            download_buttons(errors, f"错误清单_{upload.name.rsplit('.', 1)[0]}", "errors")
        else:
            st.markdown("**预览（前 10 行）**")
            st.dataframe(plan.preview(10), hide_index=True, width="stretch")
            st.markdown("**各批次、各县区（乡镇）行数**")
            st.dataframe(plan.counts(), hide_index=True, width="stretch")
            replace = False
            not_duplicate = True
            for duplicate in plan.duplicates:
                st.warning(plain(duplicate.text()), icon=":material/content_copy:")
            if plan.duplicates:
                not_duplicate = st.checkbox("我已核对，这不是重复数据，仍要导入", key="confirm_not_duplicate")
            if plan.overlap:
                st.warning(plain(f"数据库中已有 {'、'.join(plan.overlap)} 的{plan.kind.label}数据。导入将替换它们；"
                                 "被替换的数据保留在历史中，可随时恢复。"), icon=":material/warning:")
                replace = st.checkbox("我确认替换已有批次", key="confirm_replace")
            st.button("确认导入", type="primary", disabled=(bool(plan.overlap) and not replace) or not not_duplicate,
                      key="confirm_import",
                      on_click=confirm_import, args=(plan, replace))

st.subheader("已存数据")
history = data.import_history(ctx.version)
if history.empty:
    st.info("数据库中还没有数据。请在上方上传文件，或请管理员载入示例数据。")
else:
    view = records.history_view(ctx.version)
    records.history_table(ctx.version)
    download_table(view, "导入记录", "history")
    if allowed:
        statuses, labels = records.import_statuses(ctx.version), records.import_labels(ctx.version)

        def label_of(import_id: int) -> str:
            return labels.get(import_id, f"#{import_id}")  # never a KeyError inside the widget

        # Lazy (a keyed expander reruns when toggled): while closed, its widgets are not built on every visit.
        with st.expander("删除或恢复某个批次", key=state.MANAGE_IMPORT_OPEN, on_change="rerun") as manage:
            if manage.open:
                choice = st.selectbox("选择导入记录", list(statuses), key="manage_import", format_func=label_of)
                status = statuses[choice]
                confirm = st.checkbox("我确认此操作（删除为软删除，可恢复）", key="confirm_manage")
                action = None
                if status == "active":
                    if st.button("删除该批次", disabled=not confirm, key="delete_import"):
                        action = "deleted"
                elif st.button("恢复该批次", disabled=not confirm, key="restore_import",
                               help="恢复后，同一批次当前使用中的数据变为“已被替换”，也可再恢复。"):
                    action = "active"
                if action and not auth.can_change_data():  # checked again at the moment of the write
                    st.error("只有分析员可以删除或恢复数据。", icon=":material/block:")
                    st.stop()
                if action:
                    try:
                        store.set_status(engine, int(choice), action, auth.current_user())
                    except store.StoreError as exc:
                        st.error(plain(str(exc)), icon=":material/error:")
                        st.stop()
                    st.session_state.pop(state.PLAN, None)
                    st.rerun()
        purgeable = [i for i, s in statuses.items() if s in ("deleted", "replaced")]
        if purgeable:
            with st.expander("彻底删除（不可恢复）", key=state.PURGE_OPEN, on_change="rerun") as purge:
                if purge.open:
                    st.caption("从数据库文件中彻底清除一个已删除或已被替换的批次的全部行（含意见建议），并压缩数据库文件，"
                               "此后无法恢复，文件中也找不到这些内容。操作记入操作日志。")
                    target = st.selectbox("选择要彻底删除的导入记录", purgeable, key="purge_import", format_func=label_of)
                    sure = st.checkbox("我确认彻底删除，且知道不可恢复", key="confirm_purge")
                    if st.button("彻底删除", type="primary", disabled=not sure, key="purge_button"):
                        if not auth.can_change_data():  # checked again on the request that acts
                            st.error(auth.access_notice(), icon=":material/lock:")
                            st.stop()
                        try:
                            with st.spinner("正在删除并压缩数据库文件…"):
                                store.purge_import(engine, int(target), auth.current_user())
                        except store.StoreError as exc:
                            st.error(plain(str(exc)), icon=":material/error:")
                            st.stop()
                        st.session_state[state.UPLOAD_FLASH] = f"已彻底删除导入记录 #{int(target)}，并已压缩数据库文件。"
                        st.rerun()

st.subheader("操作日志")
log_key = data.log_version()  # one query a run: the log moves on sign-ins and scenarios too
audit = data.audit_entries(log_key)
if audit.empty:
    st.caption("暂无操作记录。")
else:
    audit_view = records.audit_view(log_key)
    records.audit_table(log_key)
    download_table(audit_view, "操作日志", "audit")

# The backup and the templates are seldom wanted: as lazy expanders (a keyed expander reruns when toggled) they are
# one element each a run instead of a title, a caption and their widgets (issue 15: every element costs server time).
with st.expander("数据库备份", key=state.BACKUP_OPEN, on_change="rerun", icon=":material/backup:") as box:
    if box.open and allowed:
        st.caption("下载整个数据库的备份（SQLite 为 .db 文件，PostgreSQL 为 pg_dump 文件）。恢复用命令行：python -m analysis restore 文件。"
                   "备份含全部问卷，请按本局数据管理规定保存。")
        if st.button("生成备份", key="make_backup", icon=":material/backup:"):
            if not auth.can_change_data():  # checked again at the moment of the action
                st.error("只有分析员可以下载数据库备份。")
            else:
                from analysis.data.backup import backup_bytes

                backup_name, backup_data = backup_bytes(None)
                # The one download that reruns: the rerun takes the button away, so the whole database leaves once per
                # 生成备份 (with its role check) and does not stay downloadable on the page.
                st.download_button("下载备份", backup_data, file_name=backup_name, key="dl_backup", on_click="rerun",
                                   icon=":material/download:")
    elif box.open:
        st.caption("数据库备份只对分析员开放。")

with st.expander("空白模板（CSV 与 Excel）", key=state.TEMPLATES_OPEN, on_change="rerun", icon=":material/description:") as box:
    if box.open:
        st.caption("按模板的表头填写：每一列填什么、允许哪些值、哪些列必填，见随系统提供的数据说明（数据字典）。"
                   "CSV 为 UTF-8（带BOM）编码，Excel 可直接打开。")
        template_key = st.selectbox("模板类型", KIND_KEYS, format_func=KIND_LABELS.get, key=state.TEMPLATE_KIND)
        template_label = KIND_LABELS[template_key]
        # One kind at a time: nine kinds × two buttons were 36 elements on every rerun, and unreadable on a phone.
        # Templates are built only when clicked (callables): building every Excel template cost ~85 ms on each rerun.
        with st.container(horizontal=True, gap="small"):
            st.download_button("CSV 模板", lambda: template_csv(template_key, cfg.items),
                               file_name=f"模板_{template_label}.csv", mime="text/csv", key="tpl_csv", on_click="ignore",
                               icon=":material/download:")
            st.download_button("Excel 模板", lambda: xlsx_bytes({template_label: template_frame(template_key, cfg.items)}),
                               file_name=f"模板_{template_label}.xlsx", key="tpl_xlsx", on_click="ignore",
                               icon=":material/download:",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
