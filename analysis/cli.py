"""Command line: mock data, database set-up, imports, stored waves and the ranking with uncertainty."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from analysis import store
from analysis.accounts import MIN_PASSWORD_LENGTH, hash_password
from analysis.contract import KIND_KEYS, responses_kind
from analysis.importing import build_mock_database, error_text, import_path, summary_line
from analysis.mock import write_mock
from analysis.ranking import ranking_json, ranking_with_uncertainty
from analysis.readers import ReadError, read_upload
from analysis.scoring import county_scores
from analysis.settings import ROOT, SettingsError, load_settings
from analysis.validate import validate_frame

MOCK_DIR = ROOT / "data" / "mock"


class CliError(Exception):
    """A failure reported on stderr in Chinese with a non-zero exit."""


def cmd_mock(args, settings) -> None:
    """Write the deterministic mock files."""
    paths = write_mock(settings, Path(args.out), seed=args.seed, scale=args.scale)
    for key, path in paths.items():
        print(f"{key}: {path}")


def cmd_init_db(args, settings) -> None:
    """Build the database from the bundled mock data if it holds nothing yet."""
    target = args.db or os.environ.get(store.DB_ENV) or str(store.DEFAULT_DB)
    if "://" not in target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        if args.force:
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
    engine = store.connect(target)
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


def responses_for_rank(args, settings) -> pd.DataFrame:
    """Responses from FILE (checked against the contract) or from the database."""
    if args.file:
        kind = responses_kind(settings.items)
        try:
            read = read_upload(Path(args.file).read_bytes(), Path(args.file).name, kind)
        except FileNotFoundError as exc:
            raise CliError(f"找不到文件：{args.file}") from exc
        except ReadError as exc:
            raise CliError(str(exc)) from exc
        # Any counties the file holds are ranked, so the city list does not constrain this check.
        lenient = replace(settings, counties=tuple(sorted(set(read.frame["county"].dropna()))) or settings.counties)
        validation = validate_frame(read.frame, kind, lenient)
        if not validation.ok:
            lines = [f"第 {r.行号} 行，列“{r.列}”，值“{r.值}”：{r.问题}" for r in validation.errors.head(20).itertuples()]
            raise CliError("\n".join([f"文件有 {len(validation.errors)} 处错误："] + lines))
        return validation.frame
    return store.load_kind(store.connect(args.db), responses_kind(settings.items))


def cmd_rank(args, settings) -> None:
    """Rank one wave's counties with score CIs, rank sets and P(rank ≤ target)."""
    responses = responses_for_rank(args, settings)
    if responses.empty:
        raise CliError("没有可用的问卷数据。")
    waves = sorted(responses["wave"].dropna().unique())
    wave = args.wave or waves[-1]
    if wave not in waves:
        raise CliError(f"没有测评批次“{wave}”，可选：{'、'.join(waves)}")
    table = county_scores(responses[responses["wave"] == wave], settings.points)
    if args.home not in set(table["county"]):
        raise CliError(f"本县“{args.home}”不在该批次的县区中：{'、'.join(table['county'])}")
    coverage = 1 - args.alpha
    ranked = ranking_with_uncertainty(table, settings.targets, draws=args.draws, seed=args.seed, coverage=coverage)
    doc = ranking_json(ranked, wave, args.home, settings.targets, coverage, args.draws)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
        return
    print(f"{wave} 群众满意度排名（本县：{args.home}；{round(coverage * 100)}% 置信；{args.draws} 次模拟）")
    lines = [f"{'名次':>4} {'县区':<6} {'样本':>5} {'得分':>6} {'95%置信区间':>15} {'名次置信集':>8} " + " ".join(f"P(≤{k})" for k in sorted(settings.targets))]
    for c in doc["counties"]:
        mark = "★" if c["county"] == args.home else " "
        lo, hi = c["rank_cs_marginal"]
        probs = " ".join(f"{c['p_rank_le'][str(k)] * 100:5.1f}%" for k in sorted(settings.targets))
        lines.append(f"第{c['rank']:>2}名{mark}{c['county']:<6} {c['n']:>5} {c['score']:6.2f} [{c['ci_low']:6.2f}, {c['ci_high']:6.2f}] {f'第{lo}–{hi}名':>8} {probs}")
    print("\n".join(lines))
    home = doc["home_summary"]
    for k in sorted(settings.targets):
        print(f"距第{k}名：{home['margin'][str(k)]:+.2f} 分")


def parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    p = argparse.ArgumentParser(prog="python -m analysis", description="群众满意度排名看板 命令行")
    p.add_argument("--settings", help="设置文件（默认 settings.toml）")
    sub = p.add_subparsers(dest="command", required=True)
    mock = sub.add_parser("mock", help="生成示例数据")
    mock.add_argument("--seed", type=int, default=2026)
    mock.add_argument("--out", default=str(MOCK_DIR))
    mock.add_argument("--scale", type=int, default=1, help="样本量倍数（用于性能测试）")
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
    sub.add_parser("hash-password", help="生成 secrets.toml 所需的密码哈希（从标准输入或提示读取密码）")
    rank = sub.add_parser("rank", help="排名与不确定性")
    rank.add_argument("file", nargs="?")
    rank.add_argument("--db")
    rank.add_argument("--wave")
    rank.add_argument("--home", required=True)
    rank.add_argument("--draws", type=int, default=20000)
    rank.add_argument("--seed", type=int, default=2026)
    rank.add_argument("--alpha", type=float, default=0.05)
    rank.add_argument("--json", action="store_true")
    return p


COMMANDS = {"mock": cmd_mock, "init-db": cmd_init_db, "import": cmd_import, "waves": cmd_waves,
            "hash-password": cmd_hash_password, "rank": cmd_rank}


def main(argv: list[str] | None = None) -> int:
    """Run one command; Chinese errors on stderr and exit code 1 (2 for usage errors)."""
    args = parser().parse_args(argv)
    try:
        settings = load_settings(Path(args.settings) if args.settings else None)
        COMMANDS[args.command](args, settings)
    except (CliError, SettingsError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    return 0
