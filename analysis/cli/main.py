"""Command line: mock data, database set-up, imports, stored waves and the ranking with uncertainty."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from analysis.accounts import MIN_PASSWORD_LENGTH, hash_password
from analysis.data import backup, store
from analysis.data.contract import KIND_KEYS, file_kind, responses_kind
from analysis.data.importing import build_mock_database, error_text, import_path, summary_line
from analysis.data.mock import SCENARIOS, write_mock
from analysis.data.readers import ReadError, read_upload
from analysis.data.validate import validate_frame
from analysis.data.waves import sort_waves
from analysis.settings import ROOT, SettingsError, load_settings
from analysis.survey.ranking import basis_and_table, ranking_json, ranking_with_uncertainty
from analysis.survey.scoring import county_scores

MOCK_DIR = ROOT / "data" / "mock"


class CliError(Exception):
    """A failure reported on stderr in Chinese with a non-zero exit."""


def cmd_mock(args, settings) -> None:
    """Write the deterministic mock files."""
    paths = write_mock(settings, Path(args.out), seed=args.seed, scale=args.scale, scenario=args.scenario)
    for key, path in paths.items():
        print(f"{key}: {path}")


def cmd_init_db(args, settings) -> None:
    """Bring the database's schema to the newest revision, then load the bundled mock data if it holds nothing yet."""
    url = store.db_url(args.db)
    target = backup.shown(url)
    path = store.sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if args.force:
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
    before = store.stored_revision(url)
    engine = store.connect(url)
    if store.schema_revision(engine) != before:
        print(f"数据库结构已更新到版本 {store.schema_revision(engine)}（原为 {before or '无版本记录'}）：{target}")
    if store.data_version(engine) > 0:
        print(f"数据库已有数据，跳过示例数据载入：{target}")
        return
    for line in build_mock_database(engine, settings, Path(args.mock_dir)):
        print(line)


def cmd_import(args, settings) -> None:
    """Import one file; on errors nothing is stored and the error rows go to stderr in Chinese."""
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"找不到文件：{args.file}")
    engine = store.connect(args.db)
    try:
        plan, records = import_path(path, args.kind, settings, engine, user=args.user, sheet=args.sheet, replace=args.replace)
    except (ReadError, store.StoreError) as exc:
        raise CliError(f"“{path.name}”未导入：{exc}") from exc
    if not plan.ok:
        raise CliError(error_text(plan))
    for note in plan.read.notices + plan.validation.warnings:
        print(f"提示：{note}", file=sys.stderr)
    for duplicate in plan.duplicates:  # imported all the same: the command line has no checkbox to tick
        print(f"警告：{duplicate.text()}", file=sys.stderr)
    print(summary_line(plan, records))


def cmd_waves(args, settings) -> None:
    """List stored waves and years per kind (--json: [{"wave", "kind", "rows", "imported_at"}, …])."""
    table = store.stored_waves(store.connect(args.db))
    if args.json:
        records = [{"wave": str(r.wave), "kind": str(r.kind), "rows": int(r.rows), "imported_at": str(r.imported_at)}
                   for r in table.itertuples()]
        print(json.dumps(records, ensure_ascii=False))
        return
    if table.empty:
        print("数据库中还没有数据。")
        return
    print(table.rename(columns={"wave": "批次/年度", "kind": "类型", "rows": "行数", "imported_at": "导入时间"}).to_string(index=False))


def cmd_purge(args, settings) -> None:
    """Remove a deleted or replaced import's rows for good and compact the database (asks unless --yes; logged)."""
    engine = store.connect(args.db)
    if not args.yes:
        answer = input(f"彻底删除导入记录 #{args.import_id} 的全部行并压缩数据库，不可恢复。输入 yes 确认：")
        if answer.strip().lower() != "yes":
            raise CliError("未确认，未做任何修改。")
    try:
        record = store.purge_import(engine, args.import_id, args.user)
    except store.StoreError as exc:
        raise CliError(str(exc)) from exc
    print(f"已彻底删除导入记录 #{record['id']}（{record['period']}，{record['rows']:,} 行）并压缩数据库文件。")


def read_new_password(stream=None) -> str:
    """The password from piped stdin (one line), or typed twice without echo at a terminal."""
    stream = stream or sys.stdin
    if not stream.isatty():
        password = stream.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("新密码：")
        if getpass.getpass("再输入一次：") != password:
            raise CliError("两次输入的密码不一致。")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CliError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")
    return password


def cmd_hash_password(args, settings) -> None:
    """Print the PBKDF2 hash of a password for .streamlit/secrets.toml (the password itself is never printed)."""
    print(hash_password(read_new_password()))


def read_file(path_text: str, kind):
    """A file read against the contract; a Chinese CliError when it is missing or cannot be read."""
    try:
        return read_upload(Path(path_text).read_bytes(), Path(path_text).name, kind)
    except FileNotFoundError as exc:
        raise CliError(f"找不到文件：{path_text}") from exc
    except ReadError as exc:
        raise CliError(str(exc)) from exc


def responses_for_rank(args, settings) -> pd.DataFrame:
    """Responses from FILE (checked against the contract) or from the database."""
    if args.file:
        kind = responses_kind(settings.items)
        read = read_file(args.file, kind)
        # Any counties the file holds are ranked, so the city list does not constrain this check.
        lenient = replace(settings, counties=tuple(sorted(set(read.frame["county"].dropna()))) or settings.counties)
        validation = validate_frame(read.frame, kind, lenient)
        if not validation.ok:
            lines = [f"第 {r.行号} 行，列“{r.列}”，值“{r.值}”：{r.问题}" for r in validation.errors.head(20).itertuples()]
            raise CliError("\n".join([f"文件有 {len(validation.errors)} 处错误："] + lines))
        return validation.frame
    return store.load_kind(store.connect(args.db), responses_kind(settings.items))


def published_for_rank(args, settings) -> pd.DataFrame:
    """The city's published table from --published FILE, else from the database (empty when there is none)."""
    kind = file_kind("published", settings.items)
    if args.published:
        read = read_file(args.published, kind)
        validation = validate_frame(read.frame, kind, settings)
        if not validation.ok:
            raise CliError(f"市级测评结果文件有 {len(validation.errors)} 处错误，请先修正后再排名。")
        return validation.frame
    if args.file and not args.db:
        return pd.DataFrame(columns=["wave", "county", "score", "rank"])
    return store.load_kind(store.connect(args.db), kind)


def cmd_rank(args, settings) -> None:
    """Rank one wave's counties with score CIs, rank sets and P(rank ≤ target), on the basis the data allow."""
    responses = responses_for_rank(args, settings)
    if responses.empty:
        raise CliError("没有可用的问卷数据。")
    waves = sort_waves(responses["wave"].dropna().unique())
    wave = args.wave or waves[-1]
    if wave not in waves:
        raise CliError(f"没有测评批次“{wave}”，可选：{'、'.join(waves)}")
    table = county_scores(responses[responses["wave"] == wave], settings.points)
    if args.home not in set(table["county"]):
        raise CliError(f"本县“{args.home}”不在该批次的县区中：{'、'.join(table['county'])}")
    # A file from another city (counties not in the settings) is ranked among its own counties, as before.
    city = settings.counties if set(table["county"]) <= set(settings.counties) else tuple(sorted(table["county"]))
    basis, basis_rows = basis_and_table(table, published_for_rank(args, settings), wave, city)
    if not basis.ok:
        raise CliError(basis.missing_sentence())
    try:
        draws, seed = simulation_options(args, settings, min_draws=1)  # the same defaults as `plan`; any positive count
    except PlanError as exc:
        raise CliError(str(exc)) from exc
    if args.alpha is not None and not 0 < args.alpha < 1:
        raise CliError(f"--alpha {args.alpha} 应在 0 与 1 之间（不含 0 和 1），例如 0.05")
    coverage = settings.coverage if args.alpha is None else 1 - args.alpha
    ranked = ranking_with_uncertainty(basis_rows, settings.targets, draws=draws, seed=seed, coverage=coverage)
    doc = ranking_json(ranked, wave, args.home, settings.targets, coverage, draws, basis)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
        return
    print(f"{wave} 群众满意度排名（本县：{args.home}；{round(coverage * 100)}% 置信；{draws} 次模拟）")
    print(basis.sentence())
    print("\n".join(rank_lines(doc, args.home, settings.targets)))
    home = doc["home_summary"]
    for k in sorted(settings.targets):
        margin = home["margin"][str(k)]
        print(f"距第{k}名：{'—' if margin is None else format(margin, '+.2f')} 分")


def rank_lines(doc: dict, home: str, targets: tuple[int, ...]) -> list[str]:
    """The plain-text ranking table: one line per county, published counties marked 公布."""
    fmt = lambda v, spec: "—" if v is None else format(v, spec)  # noqa: E731
    lines = [f"{'名次':>4} {'县区':<6} {'来源':<4} {'样本':>5} {'得分':>6} {'95%置信区间':>15} {'名次置信集':>8} "
             + " ".join(f"P(≤{k})" for k in sorted(targets))]
    for c in doc["counties"]:
        mark = "★" if c["county"] == home else " "
        cs = f"第{c['rank_cs_marginal'][0]}–{c['rank_cs_marginal'][1]}名" if c["rank_cs_marginal"] else "—"
        interval = f"[{fmt(c['ci_low'], '6.2f')}, {fmt(c['ci_high'], '6.2f')}]" if c["ci_low"] is not None else "—"
        probs = " ".join("   —  " if c["p_rank_le"][str(k)] is None else f"{c['p_rank_le'][str(k)] * 100:5.1f}%"
                         for k in sorted(targets))
        source = "问卷" if c["source"] == "survey" else "公布"
        note = " 样本不足" if c.get("insufficient") else ""
        lines.append(f"第{c['rank']:>2}名{mark}{c['county']:<6} {source:<4} {fmt(c['n'], '>5')} {c['score']:6.2f} "
                     f"{interval:>15} {cs:>8} {probs}{note}")
    return lines


def parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    p = argparse.ArgumentParser(prog="python -m analysis", description="群众满意度排名看板 命令行")
    p.add_argument("--settings", help="设置文件（默认 settings.toml）")
    sub = p.add_subparsers(dest="command", required=True)
    mock = sub.add_parser("mock", help="生成示例数据")
    mock.add_argument("--seed", type=int, default=2026)
    mock.add_argument("--out", default=str(MOCK_DIR))
    mock.add_argument("--scale", type=int, default=1, help="样本量倍数（用于性能测试）")
    mock.add_argument("--scenario", choices=SCENARIOS, default="city",
                      help="city：全市各县区问卷；county：只有本县问卷与市级公布结果（最新一期尚未公布）")
    init = sub.add_parser("init-db", help="用示例数据建立数据库（已存在则跳过）")
    init.add_argument("--db")
    init.add_argument("--mock-dir", default=str(MOCK_DIR))
    init.add_argument("--force", action="store_true")
    imp = sub.add_parser("import", help="导入一个文件")
    imp.add_argument("file")
    imp.add_argument("--kind", required=True, choices=KIND_KEYS)
    imp.add_argument("--db")
    imp.add_argument("--sheet")
    imp.add_argument("--replace", action="store_true", help="替换数据库中已有的同批次数据")
    imp.add_argument("--user", default="命令行")
    waves = sub.add_parser("waves", help="列出已存批次")
    waves.add_argument("--db")
    waves.add_argument("--json", action="store_true")
    purge = sub.add_parser("purge", help="彻底删除一个已删除或已被替换的导入记录的数据并压缩数据库（不可恢复）")
    purge.add_argument("import_id", type=int)
    purge.add_argument("--db")
    purge.add_argument("--yes", action="store_true", help="不再询问确认")
    purge.add_argument("--user", default="命令行")
    sub.add_parser("hash-password", help="生成 secrets.toml 所需的密码哈希（从标准输入或提示读取密码）")
    rank = sub.add_parser("rank", help="排名与不确定性")
    rank.add_argument("file", nargs="?")
    rank.add_argument("--db")
    rank.add_argument("--published", help="市级测评结果文件（默认读数据库中的公布结果）")
    rank.add_argument("--wave")
    rank.add_argument("--home", required=True)
    # Defaults from the settings file ([statistics] draws, seed, coverage), as the dashboard uses: the same command gives
    # the page's numbers unless asked otherwise.
    rank.add_argument("--draws", type=int, help="模拟次数（默认取设置文件）")
    rank.add_argument("--seed", type=int, help="随机数种子（默认取设置文件）")
    rank.add_argument("--alpha", type=float, help="1 − 置信水平（默认取设置文件的 coverage）")
    rank.add_argument("--json", action="store_true")
    add_plan_parser(sub)
    add_groups_parser(sub)
    backup.add_parsers(sub)
    return p


# plan_cli imports this module's CliError only when a plan runs, so importing it here makes no cycle.
from analysis.cli.plan_command import PlanError, add_plan_parser, cmd_plan, simulation_options  # noqa: E402
from analysis.cli.groups_command import add_groups_parser, cmd_groups  # noqa: E402

COMMANDS = {"mock": cmd_mock, "init-db": cmd_init_db, "import": cmd_import, "waves": cmd_waves,
            "hash-password": cmd_hash_password, "rank": cmd_rank, "plan": cmd_plan, "groups": cmd_groups, "purge": cmd_purge,
            **backup.COMMANDS}


def main(argv: list[str] | None = None) -> int:
    """Run one command; Chinese errors on stderr and exit code 1 (2 for usage errors)."""
    args = parser().parse_args(argv)
    try:
        settings = load_settings(Path(args.settings) if args.settings else None)
        COMMANDS[args.command](args, settings)
    except (CliError, SettingsError, store.StoreError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    return 0
