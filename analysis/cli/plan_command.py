"""`python -m analysis plan`: the 目标推演 forward model and inverse solver on the command line (same code as the page)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import pandas as pd

from analysis.data import store
from analysis.data.contract import RESPONSE_COLUMNS, file_kind, responses_kind
from analysis.data.waves import sort_waves
from analysis.settings import Settings
from analysis.survey.planner import (Move, forward, item_to_overall, move_argument, solve_items, trend_projection)
from analysis.survey.ranking import basis_and_table, basis_scores, in_rank_order
from analysis.survey.scoring import county_scores

GROUP_COLUMNS = ("township", "urban_rural", "respondent_type", "child_stage", "sex", "age_group")
ALL_GROUP = "全部"
MOVE_FORMAT = "分项:群体:原评价:新评价:比例（群体为“全部”或“列名=值”，比例 0–1），例如 有偿补课治理:城乡=农村:一般:满意:0.2"


class PlanError(ValueError):
    """Bad input to `plan`, in Chinese."""


def group_labels() -> dict[str, str]:
    """English group column → its Chinese header (城乡, 受访者类型, …)."""
    return {c.name: c.header for c in RESPONSE_COLUMNS if c.name in GROUP_COLUMNS}


def parse_move(text: str, settings: Settings, responses: pd.DataFrame) -> Move:
    """One --move ITEM:GROUP:FROM:TO:SHARE argument as a Move, checked against the settings and the county's answers."""
    parts = text.split(":")
    if len(parts) != 5:
        raise PlanError(f"调整“{text}”的格式不对，应为 {MOVE_FORMAT}")
    item, group, src, dst, share_text = (p.strip() for p in parts)
    if item not in settings.items:
        raise PlanError(f"调整“{text}”：分项“{item}”不在设置的分项中（{'、'.join(settings.items)}）")
    for answer in (src, dst):
        if answer not in settings.points:
            raise PlanError(f"调整“{text}”：评价“{answer}”不是计分的答案（{'、'.join(settings.points)}）")
    if src == dst:
        raise PlanError(f"调整“{text}”：原评价与新评价相同")
    try:
        share = float(share_text)
    except ValueError:
        raise PlanError(f"调整“{text}”：比例“{share_text}”不是数字（0–1，例如 0.2）") from None
    if not 0.0 <= share <= 1.0:
        raise PlanError(f"调整“{text}”：比例 {share_text} 应在 0 到 1 之间")
    if group == ALL_GROUP:
        return Move(item, src, dst, share)
    if "=" not in group:
        raise PlanError(f"调整“{text}”：群体“{group}”应为“全部”或“列名=值”，例如 城乡=农村")
    label, value = (g.strip() for g in group.split("=", 1))
    by_header = {header: name for name, header in group_labels().items()}
    column = by_header.get(label, label if label in GROUP_COLUMNS else None)
    if column is None:
        raise PlanError(f"调整“{text}”：没有“{label}”这一列，可用：{'、'.join(group_labels().values())}")
    present = set(responses[column].dropna().astype(str)) if column in responses.columns else set()
    if value not in present:
        raise PlanError(f"调整“{text}”：本县本期问卷中“{label}”没有“{value}”，可选：{'、'.join(sorted(present)) or '（无）'}")
    return Move(item, src, dst, share, column, value)


@dataclass(frozen=True)
class PlanInputs:
    """What the forward model needs for one wave and county."""

    wave: str
    table: pd.DataFrame
    responses: pd.DataFrame
    trend: pd.DataFrame | None


def plan_inputs(responses: pd.DataFrame, published: pd.DataFrame, settings: Settings, wave: str | None, home: str,
                with_trend: bool) -> PlanInputs:
    """The wave's ranked table (on the basis the data allow), the home respondents and, when asked, every county's trend."""
    if responses.empty:
        raise PlanError("没有可用的问卷数据。")
    waves = sort_waves(responses["wave"].dropna().unique())
    wave = wave or waves[-1]
    if wave not in waves:
        raise PlanError(f"没有测评批次“{wave}”，可选：{'、'.join(waves)}")
    scores = county_scores(responses, settings.points)
    table = scores[scores["wave"] == wave].reset_index(drop=True)
    if home not in set(table["county"]):
        raise PlanError(f"本县“{home}”在 {wave} 没有问卷数据：{'、'.join(table['county'])}")
    city = settings.counties if set(table["county"]) <= set(settings.counties) else tuple(sorted(table["county"]))
    basis, rows = basis_and_table(table, published, wave, city)
    if not basis.ok:
        raise PlanError(basis.missing_sentence())
    home_rows = responses[(responses["wave"] == wave) & (responses["county"] == home)].reset_index(drop=True)
    # The page's trend: every county's scores on each wave's own basis, so a county known only from the city's
    # published table has a trend too (survey scores alone leave it flat on the county scenario).
    trend = trend_projection(basis_scores(scores, published, list(waves), city), list(waves), wave) if with_trend else None
    # In the 排名 page's row order: the simulation's draws follow the rows, so this gives the page's chances exactly.
    return PlanInputs(wave, in_rank_order(rows), home_rows, trend)


def forward_document(inputs: PlanInputs, home: str, moves: list[Move], settings: Settings, draws: int, seed: int) -> dict:
    """Score, rank, P(rank ≤ k) and moved people after the moves (and the trend, when on)."""
    relation = item_to_overall(inputs.responses, settings.items, settings.points)
    result = forward(inputs.table, inputs.responses, home, moves, relation, settings.points, settings.targets, draws, seed,
                     inputs.trend)

    def view(r: dict) -> dict:
        return {"score": r["score"], "rank": r["rank"], "p_rank_le": {str(k): r[f"p_rank_le_{k}"] for k in settings.targets}}

    return {**view(result.planned), "moved_people": result.moved_people, "current": view(result.current),
            "baseline": view(result.baseline), "trend": inputs.trend is not None}


def inverse_document(inputs: PlanInputs, home: str, k: int, p: float, settings: Settings, draws: int, seed: int) -> dict:
    """For each item, the fewest respondents moved one step up (whole county) that reach P(rank ≤ k) ≥ p."""
    relation = item_to_overall(inputs.responses, settings.items, settings.points)
    plans = solve_items(inputs.table, inputs.responses, home, settings.items, relation, settings.points, k, p, draws, seed,
                        inputs.trend)
    labels = group_labels()
    return {"target": k, "prob": p, "n_respondents": len(inputs.responses), "plans": [{
        "item": plan.item, "share": plan.share, "people": plan.people, "share_of_below_top": plan.share_below,
        "score": plan.score, "p": plan.p, "satisfied_rate_pp": plan.satisfied_pp,
        "moves": [move_argument(m, labels) for m in plan.moves]} for plan in plans]}


def add_plan_parser(sub) -> argparse.ArgumentParser:
    """The `plan` sub-command's arguments."""
    plan = sub.add_parser("plan", help="目标推演：按调整方案推算得分与名次概率，或反推达到目标所需的最小提升")
    plan.add_argument("--db")
    plan.add_argument("--wave")
    plan.add_argument("--home", required=True)
    plan.add_argument("--move", action="append", default=[], metavar="ITEM:GROUP:FROM:TO:SHARE", help=MOVE_FORMAT)
    plan.add_argument("--target", type=int, help="目标名次 K（与 --prob 一起使用）")
    plan.add_argument("--prob", type=float, help="目标概率 P（0–1）")
    plan.add_argument("--trend", action="store_true", help="各县区（含本县）按近 3 期趋势外推一期")
    plan.add_argument("--draws", type=int)
    plan.add_argument("--seed", type=int)
    plan.add_argument("--json", action="store_true")
    return plan


MIN_DRAWS = 100


def simulation_options(args, settings: Settings, min_draws: int = MIN_DRAWS) -> tuple[int, int]:
    """--draws and --seed, each from the settings' [statistics] when not given; PlanError (Chinese) for fewer draws
    than `min_draws` (plan solves by bisection over simulated chances, so it needs more than a quick ranking)."""
    draws = settings.draws if args.draws is None else args.draws
    if draws < min_draws:
        raise PlanError(f"--draws {draws} 太少，至少 {min_draws} 次")
    return draws, settings.seed if args.seed is None else args.seed


def run_plan(args, settings: Settings) -> dict:
    """The `plan` document for parsed arguments (PlanError on bad input)."""
    if (args.target is None) != (args.prob is None):
        raise PlanError("--target 与 --prob 需要同时给出，例如 --target 5 --prob 0.8")
    if args.prob is not None and not 0.0 < args.prob < 1.0:
        raise PlanError(f"--prob {args.prob} 应在 0 与 1 之间（不含 0 和 1）")
    if args.target is not None and not 1 <= args.target <= len(settings.counties):
        raise PlanError(f"--target {args.target} 应在 1 到 {len(settings.counties)} 之间")
    draws, seed = simulation_options(args, settings)
    engine = store.connect(args.db)
    responses = store.load_kind(engine, responses_kind(settings.items))
    published = store.load_kind(engine, file_kind("published", settings.items))
    inputs = plan_inputs(responses, published, settings, args.wave, args.home, args.trend)
    moves = [parse_move(text, settings, inputs.responses) for text in args.move]
    doc: dict = {"wave": inputs.wave, "home": args.home, "draws": draws, "seed": seed}
    if moves or args.target is None:
        doc.update(forward_document(inputs, args.home, moves, settings, draws, seed))
    if args.target is not None:
        doc.update(inverse_document(inputs, args.home, args.target, args.prob, settings, draws, seed))
    return doc


def plan_lines(doc: dict) -> list[str]:
    """The plain-text reading of a `plan` document."""
    lines = [f"{doc['wave']} · {doc['home']} · 模拟 {doc['draws']} 次" + ("（各县区按近 3 期趋势外推一期）" if doc.get("trend") else "")]
    if "score" in doc:
        probs = "，".join(f"进入前{k}名概率 {v * 100:.1f}%" for k, v in doc["p_rank_le"].items())
        lines.append(f"调整后：得分 {doc['score']:.2f}，第{doc['rank']}名，{probs}；约 {doc['moved_people']:.1f} 名受访者改变评价。")
    for plan in doc.get("plans", []):
        if plan["people"] is None:
            lines.append(f"{plan['item']}：即使全部受访者上调一档也达不到。")
        else:
            lines.append(f"{plan['item']}：{plan['people']} 名受访者（占全部 {plan['share'] * 100:.1f}%）上调一档，"
                         f"得分 {plan['score']:.2f}，概率 {plan['p'] * 100:.1f}%")
    return lines


def cmd_plan(args, settings: Settings) -> None:
    """Run `plan`: JSON with --json, else Chinese lines; bad input raises the command line's CliError."""
    from analysis.cli.main import CliError  # the command line imports this module, so not at the top

    try:
        doc = run_plan(args, settings)
    except PlanError as exc:
        raise CliError(str(exc)) from exc
    print(json.dumps(doc, ensure_ascii=False) if args.json else "\n".join(plan_lines(doc)))
