"""From score to action (issue 14): work orders by item, 办结率 and 回访满意率, the ledger's 销号率 and overdue items,
an item's score before and after its problems were closed, home-visit coverage against parent satisfaction, and the
约谈名单 (attention list). Pure functions over frames; dates are 'YYYY-MM-DD' text as the contract stores them."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
from scipy import stats

from analysis.data.contract import LEDGER, OTHER_ITEM
from analysis.data.waves import wave_sort_key, wave_span
from analysis.settings import ActionRules
from analysis.stats.estimates import Z998, change_p, funnel_limits, grouped_score_table
from analysis.survey.scoring import answer_points

FOLLOW_UP_SATISFIED = ("满意", "基本满意")  # a follow-up call's answers that count as satisfied (not 满意率's)
FOLLOWED = ("满意", "基本满意", "不满意")  # 未回访 and empty are not in the denominator
CLOSED_ORDER = "已办结"
CLOSED_LEDGER = "已销号"
ASSOCIATION_NOTE = "前后变化只说明关联，不能证明是整改带来的（同期还有其他因素在变）。"


def classify_orders(content: pd.Series, keywords: dict[str, tuple[str, ...]]) -> pd.Series:
    """Each work order's survey item: the item whose keywords occur most often in 诉求内容 (ties go to the item
    listed first in the settings), 其他 when no keyword occurs."""
    text = content.fillna("").astype(str)
    items = [item for item, words in keywords.items() if words]
    if not items:
        return pd.Series(OTHER_ITEM, index=content.index, dtype=object)
    # One count column per item, in settings order: argmax then picks the first of equally frequent items.
    counts = np.column_stack([sum(text.str.count(re.escape(w)).to_numpy() for w in keywords[item]) for item in items])
    best = np.asarray(items, dtype=object)[counts.argmax(axis=1)]
    return pd.Series(np.where(counts.max(axis=1) > 0, best, OTHER_ITEM), index=content.index, dtype=object)


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def open_overdue(orders: pd.DataFrame, as_of: dt.date, due_days: int) -> pd.Series:
    """Work orders not yet 已办结 that were received more than due_days days before as_of."""
    received = pd.to_datetime(orders["received"], errors="coerce")
    late = received < pd.Timestamp(as_of) - pd.Timedelta(days=due_days)
    return (late & (orders["status"] != CLOSED_ORDER)).fillna(False).astype(bool)


def order_summary(orders: pd.DataFrame, by: list[str], as_of: dt.date, due_days: int) -> pd.DataFrame:
    """Per group: work orders, 已办结, 办结率 = 已办结/工单, 已回访 (满意+基本满意+不满意), 回访满意率 =
    (满意+基本满意)/已回访 (NaN when nobody was asked), and open orders past due_days."""
    frame = orders.assign(_closed=orders["status"] == CLOSED_ORDER, _followed=orders["follow_up"].isin(FOLLOWED),
                          _satisfied=orders["follow_up"].isin(FOLLOW_UP_SATISFIED), _overdue=open_overdue(orders, as_of, due_days))
    grouped = frame.groupby(by, sort=True, dropna=False) if by else frame.assign(_all="全部").groupby("_all")
    table = grouped.agg(orders=("order_id", "size"), closed=("_closed", "sum"), followed=("_followed", "sum"),
                        satisfied=("_satisfied", "sum"), overdue=("_overdue", "sum")).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["closure_rate"] = table["closed"] / table["orders"]
        table["follow_up_rate"] = (table["satisfied"] / table["followed"]).where(table["followed"] > 0)
    return table.drop(columns="_all", errors="ignore")


def ledger_status(ledger: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The ledger with 是否逾期 (not 已销号 and past 完成时限) and the days past the deadline."""
    deadline = pd.to_datetime(ledger["deadline"], errors="coerce")
    days = (pd.Timestamp(as_of) - deadline).dt.days
    overdue = (ledger["state"] != CLOSED_LEDGER) & (days > 0)
    return ledger.assign(overdue=overdue.fillna(False).astype(bool), days_overdue=days.where(overdue).astype("Int64"))


def ledger_summary(ledger: pd.DataFrame, as_of: dt.date) -> dict[str, float]:
    """Problems, 已销号, 销号率 = 已销号/问题数 (NaN for an empty ledger) and overdue problems."""
    status = ledger_status(ledger, as_of)
    total = len(status)
    closed = int((status["state"] == CLOSED_LEDGER).sum())
    return {"problems": total, "closed": closed, "closure_rate": closed / total if total else float("nan"),
            "overdue": int(status["overdue"].sum())}


def item_wave_scores(responses: pd.DataFrame, item: str, points: dict[str, float]) -> pd.DataFrame:
    """One item's weighted score, SE and 95% CI per wave (oldest first)."""
    scored = responses.assign(points=answer_points(responses[item], points))
    table = grouped_score_table(scored, ["wave"])
    order = sorted(table["wave"], key=wave_sort_key)
    return table.set_index("wave").loc[order].reset_index()


def before_after(scores: pd.DataFrame, closed_on, coverage: float = 0.95) -> dict | None:
    """The change of a score between the last wave ending before `closed_on` and the first wave starting after it:
    change = after − before, SE = √(SE_before² + SE_after²) (independent samples), CI = change ± z·SE, two-sided p.
    None when there is no wave on one side. An association, not an effect of the fix."""
    closed_on = _as_date(closed_on)
    spans = {w: wave_span(w) for w in scores["wave"]}
    before = [w for w in scores["wave"] if spans[w] and spans[w][1] < closed_on]
    after = [w for w in scores["wave"] if spans[w] and spans[w][0] > closed_on]
    if not before or not after:
        return None
    b = scores.set_index("wave").loc[before[-1]]
    a = scores.set_index("wave").loc[after[0]]
    change = float(a["score"] - b["score"])
    se = float(np.hypot(a["se"], b["se"]))
    z = stats.norm.ppf(0.5 + coverage / 2)
    p = change_p(change, se)
    return {"before_wave": before[-1], "after_wave": after[0], "before": float(b["score"]), "after": float(a["score"]),
            "change": change, "se": se, "ci_low": change - z * se, "ci_high": change + z * se, "p": p}


def coverage_by(visits: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """家访 coverage = Σ已家访学生数 / Σ在校学生数 per group (a township's schools pooled by their pupils)."""
    table = visits.groupby(by, sort=True).agg(enrolled=("enrolled", "sum"), visited=("visited", "sum")).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        return table.assign(coverage=(table["visited"] / table["enrolled"]).where(table["enrolled"] > 0))


def parent_scores(responses: pd.DataFrame, points: dict[str, float], by: str = "township") -> pd.DataFrame:
    """Weighted overall score (SE, CI, n) of the respondents who are parents (学生家长), per township."""
    parents = responses[responses["respondent_type"] == "学生家长"]
    return grouped_score_table(parents.assign(points=answer_points(parents["overall"], points)), [by])


def monthly_counts(orders: pd.DataFrame, by: str, last_month: str, months: int) -> pd.DataFrame:
    """Work orders per unit and month for the `months` calendar months up to last_month ('YYYY-MM'), zeros filled."""
    periods = pd.period_range(end=pd.Period(last_month, "M"), periods=months, freq="M").astype(str).tolist()
    part = orders[orders["month"].isin(periods) & orders[by].notna()]
    counts = part.groupby([by, "month"]).size().unstack(fill_value=0)
    return counts.reindex(columns=periods, fill_value=0)


def order_spikes(orders: pd.DataFrame, by: str, month: str, rules: ActionRules) -> pd.DataFrame:
    """Units whose work orders in `month` exceed spike_ratio × their average over the spike_months months before
    (and number at least spike_min_orders): unit, this month's count, the earlier average, the ratio."""
    counts = monthly_counts(orders, by, month, rules.spike_months + 1)
    if counts.empty:
        return pd.DataFrame(columns=[by, "orders", "average", "ratio"])
    now, earlier = counts.iloc[:, -1], counts.iloc[:, :-1].mean(axis=1)
    spike = (now >= rules.spike_min_orders) & (now > rules.spike_ratio * earlier)
    with np.errstate(divide="ignore"):
        ratio = now / earlier
    return pd.DataFrame({by: counts.index[spike], "orders": now[spike].to_numpy(), "average": earlier[spike].to_numpy(),
                         "ratio": ratio[spike].to_numpy()}).reset_index(drop=True)


def township_wave_scores(responses: pd.DataFrame, points: dict[str, float]) -> pd.DataFrame:
    """Overall score per wave and township (weighted, SE), and the county's per wave as township '全县'."""
    scored = responses.assign(points=answer_points(responses["overall"], points))
    towns = grouped_score_table(scored[scored["township"].notna()], ["wave", "township"])
    county = grouped_score_table(scored, ["wave"]).assign(township="全县")
    return pd.concat([towns, county], ignore_index=True)


def below_county(scores: pd.DataFrame, wave: str, rules: ActionRules, min_n: int) -> pd.DataFrame:
    """Townships of one wave below the funnel plot's lower limit around the county score: target = the county's
    score, limit = target − z·SE_township (z for funnel_coverage; no over-dispersion term). Townships with fewer
    than min_n scored answers are left out (too noisy to name)."""
    part = scores[(scores["wave"] == wave) & (scores["township"] != "全县") & (scores["n"] >= min_n)]
    county = scores[(scores["wave"] == wave) & (scores["township"] == "全县")]
    if part.empty or county.empty:
        return part.assign(county=np.nan, lo=np.nan).iloc[0:0]
    target = float(county["score"].iloc[0])
    z = float(stats.norm.ppf(0.5 + rules.funnel_coverage / 2))
    limits = funnel_limits(part["score"].to_numpy(), part["se"].to_numpy(), target=target, z=(z, Z998), tau2=0.0)
    out = part.assign(county=target, lo=limits["lo95"].to_numpy())
    return out[out["score"] < out["lo"]].reset_index(drop=True)


def falling(scores: pd.DataFrame, waves: list[str], k: int) -> pd.DataFrame:
    """Townships whose score fell in each of the last k wave-to-wave steps (needs k + 1 waves): township and the
    scores along the way."""
    if len(waves) < k + 1:
        return pd.DataFrame(columns=["township", "path"])
    last = waves[-(k + 1):]
    wide = scores[scores["township"] != "全县"].pivot_table(index="township", columns="wave", values="score").reindex(columns=last)
    wide = wide.dropna()
    fell = (wide.diff(axis=1).iloc[:, 1:] < 0).all(axis=1)
    return pd.DataFrame({"township": wide.index[fell], "path": [list(r) for r in wide[fell].to_numpy()]})


def attention_list(scores: pd.DataFrame, waves: list[str], ledger: pd.DataFrame, orders: pd.DataFrame,
                   as_of: dt.date, rules: ActionRules, min_n: int) -> pd.DataFrame:
    """约谈名单: townships and schools listed by any rule, each with its reasons in one line.

    Rules: (1) the latest wave's township score is below the funnel's lower limit around the county; (2) the score
    fell fall_waves waves running; (3) the unit has overdue ledger problems; (4) a spike of work orders in the latest
    month. Schools can only meet (3) and (4): the survey does not name schools."""
    reasons: dict[tuple[str, str], list[str]] = {}

    def add(kind: str, unit, text: str) -> None:
        if isinstance(unit, str) and unit:
            reasons.setdefault((kind, unit), []).append(text)

    if waves and not scores.empty:
        for row in below_county(scores, waves[-1], rules, min_n).itertuples():
            add("乡镇", row.township, f"{waves[-1]}得分 {row.score:.1f}，低于全县 {row.county:.1f} 的漏斗图"
                                     f"{rules.funnel_coverage:.0%}下限 {row.lo:.1f}")
        for row in falling(scores, waves, rules.fall_waves).itertuples():
            add("乡镇", row.township, f"得分连续 {rules.fall_waves} 期下降（{'→'.join(f'{s:.1f}' for s in row.path)}）")
    if not ledger.empty:
        late = ledger_status(ledger, as_of)
        late = late[late["overdue"]]
        for kind, column in (("乡镇", "township"), ("学校", "school")):
            for unit, part in late.groupby(column):
                add(kind, unit, f"{len(part)} 项整改逾期（{'、'.join(part['ledger_id'].astype(str))}）")
    if not orders.empty and orders["month"].notna().any():
        month = str(orders["month"].max())
        for kind, column in (("乡镇", "township"), ("学校", "school")):
            for row in order_spikes(orders, column, month, rules).itertuples(index=False):
                before = (f"前 {rules.spike_months} 个月月均 {row.average:.1f} 件的 {row.ratio:.1f} 倍" if row.average > 0
                          else f"前 {rules.spike_months} 个月没有工单")
                add(kind, row[0], f"{month} 工单 {row.orders} 件，是{before}")
    rows = [{"type": kind, "unit": unit, "reasons": "；".join(texts), "n_reasons": len(texts)}
            for (kind, unit), texts in reasons.items()]
    table = pd.DataFrame(rows, columns=["type", "unit", "reasons", "n_reasons"])
    return table.sort_values(["n_reasons", "type", "unit"], ascending=[False, False, True], ignore_index=True)


def order_clusters(orders: pd.DataFrame, ledger: pd.DataFrame, min_orders: int) -> pd.DataFrame:
    """Work orders of one item in one township numerous enough for a ledger entry (at least min_orders, 其他 left
    out), with their numbers and whether the ledger already has an open problem for that item and township."""
    part = orders[(orders["item"] != OTHER_ITEM) & orders["township"].notna()]
    table = (part.groupby(["item", "township"]).agg(orders=("order_id", "size"), order_ids=("order_id", lambda s: "、".join(sorted(s))))
             .reset_index())
    table = table[table["orders"] >= min_orders]
    open_keys = set()
    if not ledger.empty:
        live = ledger[ledger["state"] != CLOSED_LEDGER]
        open_keys = set(zip(live["item"], live["township"]))
    in_ledger = [(i, t) in open_keys for i, t in zip(table["item"], table["township"])]
    return table.assign(in_ledger=in_ledger).sort_values(["orders", "item"], ascending=[False, True], ignore_index=True)


def draft_from_cluster(item: str, township: str, order_ids: str, n_orders: int, today: dt.date, days: int = 30) -> dict:
    """A new ledger row for a cluster of work orders (责任单位 and 整改措施 left for the analyst)."""
    return {"item": item, "township": township, "school": None, "source": "工单", "order_ids": order_ids,
            "problem": f"{township}群众反映“{item}”方面问题集中（{n_orders} 件工单）", "measure": None, "owner": None,
            "created": today.isoformat(), "deadline": (today + dt.timedelta(days=days)).isoformat(), "state": "未整改",
            "closed": None}


def draft_from_topic(item: str, township: str | None, n_comments: int, wave: str, today: dt.date, days: int = 30) -> dict:
    """A new ledger row for a survey comment topic."""
    where = township or "全县"
    return {"item": item, "township": township, "school": None, "source": "问卷意见", "order_ids": None,
            "problem": f"{wave}问卷中{where}有 {n_comments} 条意见涉及“{item}”", "measure": None, "owner": None,
            "created": today.isoformat(), "deadline": (today + dt.timedelta(days=days)).isoformat(), "state": "未整改",
            "closed": None}


def ledger_export(ledger: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The ledger in the layout a bureau files: 序号, the contract's Chinese headers, 是否逾期 and 逾期天数."""
    status = ledger_status(ledger, as_of)
    columns = [c.name for c in LEDGER.columns]
    # An empty cell is blank in the filed ledger, not "None".
    out = status[columns].astype("string").fillna("").rename(columns={c: LEDGER.header_of(c) for c in columns})
    out.insert(0, "序号", range(1, len(out) + 1))
    return out.assign(是否逾期=np.where(status["overdue"], "是", "否"), 逾期天数=status["days_overdue"])


def wave_of_date(day, waves: list[str]) -> str | None:
    """The wave whose period holds a date (for markers on a wave axis), None when none does."""
    day = _as_date(day)
    for wave in waves:
        span = wave_span(wave)
        if span and span[0] <= day <= span[1]:
            return wave
    return None


def brief_paragraphs(orders: pd.DataFrame, ledger: pd.DataFrame, attention: pd.DataFrame, wave: str,
                     as_of: dt.date, due_days: int, top: int = 3) -> list[str]:
    """The brief's 整改 section: this period's work orders by item, the ledger's 销号率 and overdue items, the 约谈名单."""
    paragraphs = []
    span = wave_span(wave)
    received = pd.to_datetime(orders["received"], errors="coerce") if len(orders) else pd.Series(dtype="datetime64[ns]")
    period = orders[received.between(pd.Timestamp(span[0]), pd.Timestamp(span[1]))] if span and len(orders) else orders.iloc[0:0]
    if len(period):
        whole = order_summary(period, [], as_of, due_days).iloc[0]
        counts = period["item"].value_counts()
        items = "、".join(f"{item} {int(n)} 件" for item, n in counts.head(top).items())
        follow = "" if pd.isna(whole["follow_up_rate"]) else f"，回访满意率 {whole['follow_up_rate'] * 100:.0f}%"
        paragraphs.append(f"本期（{span[0]:%Y年%m月}至{span[1]:%Y年%m月}）受理民意诉求工单 {int(whole['orders'])} 件，"
                          f"办结率 {whole['closure_rate'] * 100:.0f}%{follow}；反映最多的是{items}。")
    elif len(orders):
        paragraphs.append(f"{wave}期间没有受理的民意诉求工单记录。")
    if len(ledger):
        summary = ledger_summary(ledger, as_of)
        overdue = ledger_status(ledger, as_of)
        late = overdue[overdue["overdue"]].sort_values("days_overdue", ascending=False)
        late_text = ("，逾期未销号：" + "；".join(f"{r.problem}（{r.owner}，逾期 {int(r.days_overdue)} 天）"
                                             for r in late.head(top).itertuples()) if len(late) else "，没有逾期未销号的问题")
        paragraphs.append(f"问题台账共 {summary['problems']} 项，已销号 {summary['closed']} 项，销号率 "
                          f"{summary['closure_rate'] * 100:.0f}%{late_text}。")
    if len(attention):
        units = "；".join(f"{r.unit}（{r.reasons}）" for r in attention.head(top + 2).itertuples())
        paragraphs.append(f"建议在满意度推进会上约谈 {len(attention)} 个单位：{units}。")
    return paragraphs


def monthly_item_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Work orders per month and item (the stacked monthly chart)."""
    return orders.groupby(["month", "item"]).size().rename("orders").reset_index().sort_values(["month", "item"])


def closure_marks(closed: pd.DataFrame, waves: list[str]) -> pd.DataFrame:
    """One mark per closed ledger problem at the wave its closing date falls in (problems outside every wave dropped)."""
    if closed.empty:
        return pd.DataFrame(columns=["wave", "label"])
    return pd.DataFrame({"wave": [wave_of_date(d, waves) for d in closed["closed"]],
                         "label": [f"{i} 销号 {d}" for i, d in zip(closed["ledger_id"], closed["closed"])]}).dropna()


def visit_coverage_scores(visits: pd.DataFrame, wave_responses: pd.DataFrame | None, points: dict[str, float]
                          ) -> pd.DataFrame:
    """家访 coverage by township beside the township's parent satisfaction in one wave (None: no survey to pair with)."""
    towns = coverage_by(visits, ["township"])
    if wave_responses is None:
        return towns
    parents = parent_scores(wave_responses, points)
    return towns.merge(parents[["township", "score", "ci_low", "n"]], on="township", how="left")
