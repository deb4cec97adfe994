"""`python -m analysis groups`: design-based group scores and Rao–Scott tests of one grouping, optionally after raking.

The same functions as the 群体与乡镇 page (analysis.stats.weighting): group means and
SEs are R ``svyby(~score, ~group, design, svymean, na.rm = TRUE)``, the tests are
R ``svychisq(~group + answer, design, statistic = "F" | "Chisq")`` on
``svydesign(ids = ~1, weights = ~weight)`` over every respondent in scope, and
with --margins the weights are raked first (R ``rake``), SEs accounting for the
calibration. Respondents without a group label stay in the design but form no
group, as R drops NA groups.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.contract import RESPONSE_COLUMNS
from analysis.data.waves import sort_waves
from analysis.settings import Settings
from analysis.stats.weighting import RakeResult, design_mean, domain_means, rake, rao_scott
from analysis.survey.groups import GROUP_ORDER
from analysis.survey.scoring import answer_points

BY_COLUMNS = ("urban_rural", "respondent_type", "child_stage", "sex", "age_group", "township")
HEADERS = {c.name: c.header for c in RESPONSE_COLUMNS}
BY_HEADERS = tuple(HEADERS[c] for c in BY_COLUMNS)  # 城乡|受访者类型|子女学段|性别|年龄段|乡镇（街道）
# A table header or key written without quotes that is not a valid TOML bare key (e.g. [城乡], 18-39岁 = 0.35).
BARE_TABLE = re.compile(r'^(\s*)\[([^\[\]"\'.]+)\]\s*$', re.MULTILINE)
BARE_KEY = re.compile(r'^(\s*)([^\s="\'\[#][^="\'#]*?)(\s*=)', re.MULTILINE)
FIRST_WEIGHTS = 3  # raked_weights_first: this many respondents' weights, in file order


class GroupsError(ValueError):
    """Bad input to `groups`, in Chinese."""


def by_column(text: str) -> str:
    """The English column of a --by value (the Chinese header; the English name is accepted too)."""
    by_header = {HEADERS[c]: c for c in BY_COLUMNS}
    column = by_header.get(text.strip(), text.strip() if text.strip() in BY_COLUMNS else None)
    if column is None:
        raise GroupsError(f"--by “{text}”不是可分组的列，可选：{'、'.join(BY_HEADERS)}")
    return column


def read_margins(path: str) -> dict[str, dict[str, float]]:
    """MARGINS.toml: one table per margin column (Chinese header) of population shares, keyed by English column."""
    file = Path(path)
    if not file.is_file():
        raise GroupsError(f"找不到总体比例文件：{path}")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise GroupsError(f"总体比例文件“{file.name}”不是 UTF-8 编码的文本") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        try:
            raw = tomllib.loads(quote_bare_keys(text))
        except tomllib.TOMLDecodeError as exc:
            raise GroupsError(f"总体比例文件“{file.name}”格式有误（TOML）：{exc}；"
                              "每个总体比例写成一行“类别 = 比例”，例如 [城乡] 下写 城镇 = 0.42") from None
    if not raw:
        raise GroupsError(f"总体比例文件“{file.name}”没有任何比例，例如应写 [城乡] 城镇 = 0.42 农村 = 0.58")
    names = {c.header: c.name for c in RESPONSE_COLUMNS}
    margins: dict[str, dict[str, float]] = {}
    for header, shares in raw.items():
        if not isinstance(shares, dict) or not shares:
            raise GroupsError(f"总体比例文件“{file.name}”的“{header}”必须是表，例如 [{header}] 下逐行写 类别 = 比例")
        for level, share in shares.items():
            if not isinstance(share, (int, float)) or isinstance(share, bool) or not math.isfinite(share) or share < 0:
                raise GroupsError(f"总体比例文件“{file.name}”中 [{header}] 的“{level}”必须是非负数，现为 {share!r}")
        margins[names.get(header, header)] = {str(k): float(v) for k, v in shares.items()}
    return margins


def quote_bare_keys(text: str) -> str:
    """Quote the Chinese keys of `[城乡]` / `城镇 = 0.42`: TOML 1.0 bare keys are ASCII only, analysts write them bare."""
    text = BARE_TABLE.sub(lambda m: f'{m[1]}["{m[2].strip()}"]', text)
    return BARE_KEY.sub(lambda m: f'{m[1]}"{m[2].strip()}"{m[3]}', text)


def scoped(responses: pd.DataFrame, county: str | None, wave: str | None) -> pd.DataFrame:
    """The respondents of one county and/or wave (default: all), in file order."""
    frame = responses
    if county is not None:
        counties = sorted(set(frame["county"].dropna().astype(str)))
        if county not in counties:
            raise GroupsError(f"文件中没有县区“{county}”，可选：{'、'.join(counties)}")
        frame = frame[frame["county"] == county]
    if wave is not None:
        waves = sort_waves(frame["wave"].dropna().unique())
        if wave not in waves:
            raise GroupsError(f"{'该县区' if county else '文件中'}没有测评批次“{wave}”，可选：{'、'.join(waves)}")
        frame = frame[frame["wave"] == wave]
    if frame.empty:
        raise GroupsError("所选范围内没有受访者。")
    return frame.reset_index(drop=True)


def _num(value: float) -> float | None:
    """A JSON number, or null for NaN/inf (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


def level_order(levels: list[str], column: str) -> list[str]:
    """Levels in their natural order (城镇 before 农村, …), others after them by name."""
    natural = {g: k for k, g in enumerate(GROUP_ORDER.get(column, ()))}
    return sorted(levels, key=lambda g: (natural.get(g, len(natural)), g))


def groups_document(frame: pd.DataFrame, column: str, points: dict[str, float],
                    margins: dict[str, dict[str, float]] | None = None) -> tuple[dict, RakeResult | None]:
    """The `groups --json` object for the respondents in `frame` grouped by `column` (raked first when `margins`),
    with the raking result (None when not raked) for the convergence report."""
    if column not in frame.columns or frame[column].isna().all():
        raise GroupsError(f"文件中没有“{HEADERS[column]}”的答案，无法按它分组")
    base = frame["weight"].astype("float64").fillna(1.0).to_numpy() if "weight" in frame.columns else np.ones(len(frame))
    result: RakeResult | None = None
    if margins:
        try:
            result = rake(frame, margins, base)  # totals = share × the number of respondents in scope
        except ValueError as exc:
            raise GroupsError(str(exc)) from None
    w = result.weights if result is not None else base
    codes = result.codes if result is not None else ()
    y = answer_points(frame["overall"], points).to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(y).all():
        raise GroupsError("所选范围内没有计分的“总体满意度”答案。")
    labels = frame[column].astype("object").where(frame[column].notna(), None)
    mean, se = design_mean(y, w, codes)
    groups = domain_means(y, w, labels, codes).set_index("group")
    # The test's table: group × scored answer (不了解 etc. stay in the design without a cell, as NA in R).
    test = rao_scott(labels, frame["overall"].where(frame["overall"].isin(list(points))), w, codes)
    doc = {
        "by": HEADERS[column], "raked": result is not None, "n": int(len(frame)),
        "overall": {"mean": _num(mean), "se": _num(se)},
        "levels": [{"level": g, "n": int(groups.loc[g, "n"]), "mean": _num(groups.loc[g, "mean"]), "se": _num(groups.loc[g, "se"])}
                   for g in level_order(list(groups.index), column)],
        "rao_scott": {"f": _num(test.f), "df1": _num(test.df1), "df2": _num(test.df2), "p": _num(test.p)},
        "first_order": {"chisq": _num(test.chisq), "df": int(test.df), "p": _num(test.p_first)},
        "raked_weights_first": [float(v) for v in w[:FIRST_WEIGHTS]],
    }
    return doc, result


def raking_line(result: RakeResult | None) -> str:
    """How the weights were made: the file's, or raked with the convergence report."""
    if result is None:
        return "使用文件中的权重（空白按 1）"
    return (f"按总体比例（{'、'.join(HEADERS.get(m, m) for m in result.margins)}）迭代加权，{result.iterations} 轮，"
            f"最大边际误差 {result.max_error:.1e}" + ("" if result.converged else "，未达到收敛标准"))


def groups_lines(doc: dict, result: RakeResult | None) -> list[str]:
    """The plain-text reading of a `groups` document."""
    fmt = lambda v, spec: "—" if v is None else format(v, spec)  # noqa: E731
    lines = [f"按{doc['by']}分组 · {doc['n']} 名受访者 · {raking_line(result)}",
             f"全部：得分 {fmt(doc['overall']['mean'], '.2f')}，标准误 {fmt(doc['overall']['se'], '.2f')}"]
    lines += [f"{lv['level']}：{lv['n']} 人，得分 {fmt(lv['mean'], '.2f')}，标准误 {fmt(lv['se'], '.2f')}" for lv in doc["levels"]]
    rs, first = doc["rao_scott"], doc["first_order"]
    lines.append(f"答案分布的组间差异（Rao–Scott 二阶）：F = {fmt(rs['f'], '.4f')}，自由度 {fmt(rs['df1'], '.2f')} 与 "
                 f"{fmt(rs['df2'], '.1f')}，p = {fmt(rs['p'], '.4g')}")
    lines.append(f"一阶校正：X² = {fmt(first['chisq'], '.4f')}，自由度 {first['df']}，p = {fmt(first['p'], '.4g')}")
    return lines


def add_groups_parser(sub) -> argparse.ArgumentParser:
    """The `groups` sub-command's arguments."""
    groups = sub.add_parser("groups", help="按群体的加权得分与 Rao–Scott 检验（可先按总体比例迭代加权）")
    groups.add_argument("file", help="问卷文件（数据规范，CSV 或 .xlsx）")
    groups.add_argument("--by", required=True, help="分组列：" + "|".join(BY_HEADERS))
    groups.add_argument("--county", help="只看这个县区（默认文件中全部县区）")
    groups.add_argument("--wave", help="只看这个测评批次（默认文件中全部批次）")
    groups.add_argument("--margins", help="总体比例文件 MARGINS.toml，例如 [城乡] 城镇 = 0.42 农村 = 0.58")
    groups.add_argument("--json", action="store_true")
    return groups


def cmd_groups(args, settings: Settings) -> None:
    """Run `groups`: JSON with --json, else Chinese lines; bad input raises the command line's CliError."""
    from analysis.cli.main import CliError, responses_for_rank  # the command line imports this module, so not at the top

    try:
        column = by_column(args.by)
        margins = read_margins(args.margins) if args.margins else None
        # The same reading and contract check as `rank FILE` (args.file is set, so no database is touched).
        frame = scoped(responses_for_rank(args, settings), args.county, args.wave)
        doc, result = groups_document(frame, column, settings.points, margins)
    except GroupsError as exc:
        raise CliError(str(exc)) from exc
    if not args.json:
        print("\n".join(groups_lines(doc, result)))
        return
    if result is not None:  # stdout carries only the JSON object; the convergence report goes beside it
        print(f"提示：{raking_line(result)}", file=sys.stderr)
    print(json.dumps(doc, ensure_ascii=False))
