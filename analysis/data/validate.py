"""Check uploaded rows against the data contract (pandera schemas) and explain every failure in Chinese."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from analysis.data.contract import CHANNEL_ALIASES, GRADES, OTHER_ITEM, SCHOOL_STAGES, Column, FileKind, answer_columns
from analysis.data.readers import per_distinct
from analysis.data.waves import WAVE_YEARS, wave_period
from analysis.settings import Settings

ERROR_COLUMNS = ["行号", "列", "值", "问题"]
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str": Arrow-backed, so checks are vectorised
INVISIBLE = r"[\s\x{00A0}\x{00AD}\x{200B}\x{200C}\x{200D}\x{2060}\x{3000}\x{FEFF}\x00-\x1F\x7F]+"
# Control characters other than tab and line breaks: Excel's XML and Word refuse them, and nobody types them.
CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
# Characters that hide inside a number without showing: zero-width spaces and joiners, soft hyphen, BOM.
HIDDEN_CHARS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
# Between the digit groups of a phone or ID number (after NFKC: full-width forms and NBSP are already ASCII).
SEP = "[\\s\\-.·_~/\u2010-\u2015\u2212]{0,3}"  # literal characters: the same class for Python's re and RE2
PHONE_BODY = rf"1[3-9]\d(?:{SEP}\d){{8}}"
LONG_NUMBER = rf"\d(?:{SEP}\d){{16}}{SEP}[Xx]|\d(?:{SEP}\d){{14,18}}"  # ID cards (15/18) and bank cards (16–19)
PHONE_PATTERN = re.compile(rf"(?<!\d)(?:(?:\+|00)?86{SEP})?({PHONE_BODY})(?!\d)")
LONG_NUMBER_PATTERN = re.compile(rf"(?<![\dXx])({LONG_NUMBER})(?![\dXx])")
# The same, in RE2 (pyarrow): no look-behind, so a neighbouring character is matched instead; finds the texts to mask.
PERSONAL_RE2 = rf"(?:^|[^\d])(?:(?:(?:\+|00)?86{SEP})?{PHONE_BODY}|{LONG_NUMBER})(?:$|[^\d])"
ID_SEPARATORS = "[\\s\\-.·_~/\u2010-\u2015\u2212()+" + HIDDEN_CHARS + "]"
PERSONAL_ID = (r"^(0{0,2}86)?1[3-9]\d{9}$|^\d{6}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx]$|"
               r"^\d{8}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}$")
# A phone or ID-card number inside an ID ("P13812345678", "GD13812345678-01"): the ID is hashed whole. Bank-card
# lengths are left out here, since 12345 work-order numbers are long digit runs of their own.
PERSONAL_INSIDE_RE2 = (r"(?:^|[^\d])(?:(?:0{0,2}86)?1[3-9]\d{9}|\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                       r"\d{3}[\dXx])(?:$|[^\dXx])")
HIDDEN_ID_PREFIX = "隐去#"
ID_KEY_ENV = "SATISFACTION_ID_KEY"  # secret key for hashing respondent IDs that are phone or ID numbers


@dataclass
class Validation:
    """Clean typed rows, blocking errors (one row per bad cell) and warnings that do not block."""

    frame: pd.DataFrame
    errors: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks the import."""
        return self.errors.empty


def as_text(series: pd.Series) -> pd.Series:
    """The column as pandas' Arrow-backed text dtype (missing stays missing)."""
    return series if series.dtype == TEXT else series.astype(TEXT)


def _from_arrow(array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.array(array, dtype=TEXT), index=index)


def _normalise_arrow(array: pyarrow.Array) -> pyarrow.Array:
    array = pc.replace_substring_regex(pc.utf8_normalize(array, "NFKC"), INVISIBLE, "")
    return pc.if_else(pc.equal(array, ""), pyarrow.scalar(None, array.type), array)


def normalise_text(series: pd.Series) -> pd.Series:
    """Full-width to half-width (NFKC), every space (also full-width and zero-width) removed; empty becomes missing."""
    return _from_arrow(per_distinct(pyarrow.array(as_text(series), from_pandas=True), _normalise_arrow), series.index)


def map_unique(series: pd.Series, func) -> pd.Series:
    """func applied once per distinct non-missing value (text columns repeat a few values many times)."""
    codes, uniques = pd.factorize(series)
    mapped = pyarrow.array([func(v) for v in uniques], type=pyarrow.large_string())
    return _from_arrow(pc.take(mapped, pyarrow.array(codes, mask=codes < 0)), series.index)


def normalise_answers(series: pd.Series, settings: Settings) -> pd.Series:
    """Answer labels with stray spaces removed and vendor codes (1 满意 … 9 不了解, also '1.0') replaced by labels."""
    text = pc.replace_substring_regex(pyarrow.array(normalise_text(series), from_pandas=True), r"^(\d+)\.0+$", r"\1")
    return _from_arrow(text, series.index).replace(settings.codes).astype(TEXT)


def _digits(text: str) -> str:
    return re.sub(r"[^\dXx]", "", text)


def _mask_long(match: re.Match) -> str:
    digits = _digits(match.group(1))
    if re.fullmatch(r"(?:00)?861[3-9]\d{9}", digits):  # 0086 138 1234 5678 is a phone number, not a card
        return digits[-11:-8] + "****" + digits[-4:]
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def _mask_phone(match: re.Match) -> str:
    digits = _digits(match.group(1))
    return digits[:3] + "****" + digits[-4:]


def _number_forms() -> dict[int, str | None]:
    """NFKC's mapping restricted to what can spell a number (full-width, circled and mathematical digits, odd spaces,
    full-width plus, dash and dot), and the invisible characters removed: the rest of a comment keeps its punctuation."""
    table: dict[int, str | None] = {ord(c): None for c in HIDDEN_CHARS}
    for low, high in ((0xA0, 0xFF), (0x2000, 0x24FF), (0x3000, 0x3000), (0xFF00, 0xFFEF), (0x1D7CE, 0x1D7FF)):
        for code in range(low, high + 1):
            folded = unicodedata.normalize("NFKC", chr(code))
            if folded != chr(code) and len(folded) == 1 and folded in "0123456789+-. ":
                table[code] = folded
    return table


NUMBER_FORMS = _number_forms()


def canonical_text(value: str) -> str:
    """The text with every character that NFKC turns into a digit, space, plus, dash or dot turned so, and invisible
    characters removed (other full-width punctuation such as '，' is kept as typed)."""
    return value.translate(NUMBER_FORMS)


def mask_text(value: str) -> str:
    """Phone, ID-card and bank-card numbers inside one text replaced by asterisks, keeping a few digits for recognition.

    Matched on the NFKC form without invisible characters, with any run of separators between digit groups and an
    optional +86/86/0086 prefix; a text holding such a number is stored in that normalised form."""
    canonical = canonical_text(value)
    masked = PHONE_PATTERN.sub(_mask_phone, LONG_NUMBER_PATTERN.sub(_mask_long, canonical))
    return masked if masked != canonical else value


def mask_personal_numbers(series: pd.Series) -> pd.Series:
    """mask_text on a text column: candidates found by one vectorised pass over the NFKC form, only they go through
    Python (a million comments cost one pyarrow scan, not a million regex calls)."""
    series = as_text(series)
    array = pyarrow.array(series, from_pandas=True)
    # Once per distinct value when values repeat (乡镇, 性别 …): a million rows of a dozen towns cost a dozen scans.
    found = per_distinct(array, lambda a: pc.match_substring_regex(
        pc.replace_substring_regex(pc.utf8_normalize(a, "NFKC"), f"[{HIDDEN_CHARS}]", ""), PERSONAL_RE2))
    hits = np.asarray(pd.array(found.to_numpy(zero_copy_only=False), dtype="boolean").fillna(False), dtype=bool)
    if not hits.any():
        return series
    out = series.copy()
    out[hits] = [mask_text(v) for v in series[hits]]
    return out.astype(TEXT)


def strip_controls(series: pd.Series) -> pd.Series:
    """Control characters other than tab and line breaks removed (they break Excel and Word exports)."""
    array = pyarrow.array(as_text(series), from_pandas=True)
    return _from_arrow(pc.replace_substring_regex(array, CONTROL, ""), series.index)


def id_key() -> bytes:
    """Key for hashing personal respondent IDs: $SATISFACTION_ID_KEY, else a fixed key (then a hash of a phone number
    can be found by trying every number; set the variable on a server)."""
    return os.environ.get(ID_KEY_ENV, "satisfaction-dashboard-respondent-id").encode("utf-8")


def hashed_id(value: str) -> str:
    """'隐去#<16 hex>': the same number gives the same ID (duplicates stay visible), the number cannot be read back."""
    digits = _digits(value)
    digits = digits[-11:] if re.fullmatch(r"0{0,2}861[3-9]\d{9}", digits) else digits  # +86 138… is 138…
    return keyed_id(digits)


def keyed_id(text: str) -> str:
    """'隐去#<16 hex>': the keyed hash of an ID's text (upper-cased), the one form every hidden ID is stored in."""
    return HIDDEN_ID_PREFIX + hashlib.blake2b(text.upper().encode(), key=id_key(), digest_size=8).hexdigest()


def _matches(array: pyarrow.Array, pattern: str) -> np.ndarray:
    found = pc.match_substring_regex(array, pattern).to_numpy(zero_copy_only=False)
    return np.asarray(pd.array(found, dtype="boolean").fillna(False), dtype=bool)


def hide_personal_ids(ids: pd.Series) -> tuple[pd.Series, int]:
    """Respondent and work-order IDs that are, or hold, a phone or ID-card number (in any spacing or width) replaced by
    a keyed hash."""
    array = pyarrow.array(as_text(ids), from_pandas=True)
    normal = pc.replace_substring_regex(pc.utf8_normalize(array, "NFKC"), f"[{HIDDEN_CHARS}]", "")
    bare = pc.replace_substring_regex(normal, ID_SEPARATORS, "")
    whole = _matches(bare, PERSONAL_ID)
    # Looked for with and without separators: "138 1234 5678" is a number spaced out, "13812345678-01" one with a suffix.
    inside = (_matches(bare, PERSONAL_INSIDE_RE2) | _matches(normal, PERSONAL_INSIDE_RE2)) & ~whole
    if not (whole.any() or inside.any()):
        return ids, 0
    hidden = ids.copy()
    if whole.any():
        hidden[whole] = [hashed_id(v) for v in bare.filter(pyarrow.array(whole)).to_pylist()]
    if inside.any():
        # The whole ID, not only its digits: two IDs that differ only outside the number stay two IDs.
        hidden[inside] = [keyed_id(v) for v in bare.filter(pyarrow.array(inside)).to_pylist()]
    return hidden.astype(TEXT), int(whole.sum() + inside.sum())


def allowed_answers(settings: Settings) -> list[str]:
    """Every answer label the scale accepts, scored or excluded."""
    return list(settings.points) + list(settings.excluded)


def numeric_column(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers parsed from text cells ('1,234', '85%', full-width digits), and a mask of filled cells that are not numbers."""
    text = normalise_text(series).str.replace(",", "", regex=False).str.replace("\u2212", "-", regex=False).str.rstrip("%")
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    return numbers, (text.notna() & numbers.isna()).to_numpy(dtype=bool)


# Free text kept as typed (punctuation and spaces), numbers that identify a person masked: 意见建议, 诉求内容, and the
# ledger's 问题描述 and 整改措施.
FREE_TEXT = ("comment", "content", "problem", "measure")
# 2026-03-15, 2026/3/15, 2026.3.15, 2026年3月15日, 20260315, optionally with a time after a space or T.
DATE_PATTERN = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{2})(\d{2}))"
                          r"(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def parse_date(text: str) -> str | None:
    """'YYYY-MM-DD' for a date as Chinese offices type it (or Excel writes it), None when it is not a real date."""
    match = DATE_PATTERN.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        return None
    year, month, day = int(match.group(1)), int(match.group(2) or match.group(4)), int(match.group(3) or match.group(5))
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:  # 2026-02-30
        return None


def date_column(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates as 'YYYY-MM-DD' text (sorts and compares as dates), and a mask of filled cells that are not dates."""
    # Not normalise_text: it removes the space between a date and its time ('2026/4/2 10:30' is not the 21st).
    text = as_text(series).str.strip()
    text = text.mask(text == "")
    dates = map_unique(text, parse_date)
    return dates, (text.notna() & dates.isna()).to_numpy(dtype=bool)


def petition_months(typed: pd.DataFrame, kind: FileKind) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """受理月份 ('YYYY-MM') from 受理日期; a month typed in the file must agree with the date."""
    derived = typed["received"].str.slice(0, 7) if "received" in typed.columns else pd.Series(pd.NA, index=typed.index, dtype=TEXT)
    if "month" not in typed.columns:
        return typed.assign(month=derived.astype(TEXT)), []
    typed_month = typed["month"].map(lambda v: parse_date(f"{v}-01".replace("年", "-").replace("月", "")) if isinstance(v, str) else None)
    given = typed_month.str.slice(0, 7)
    bad = (typed["month"].notna() & derived.notna() & (given.fillna("") != derived.fillna(""))).to_numpy(dtype=bool)
    errors = []
    if bad.any():
        errors.append(error_table(typed.index[bad], kind.header_of("month"), typed["month"][bad],
                                  [f"受理月份与受理日期 {d} 不一致" for d in typed["received"][bad]]))
    return typed.assign(month=derived.astype(TEXT)), errors


def action_errors(frame: pd.DataFrame, kind: FileKind) -> list[pd.DataFrame]:
    """Dates and states of work orders, home visits and ledger rows that contradict each other."""
    tables = []
    if kind.key == "home_visits":
        bad = (frame["visited"] > frame["enrolled"]).to_numpy()
        if bad.any():
            tables.append(error_table(frame.index[bad], "已家访学生数", frame["visited"][bad].map("{:g}".format),
                                      "已家访学生数不能大于在校学生数"))
    if kind.key in ("petitions", "ledger"):
        start, done, state = ("received", "closed", "status") if kind.key == "petitions" else ("created", "closed", "state")
        finished = "已办结" if kind.key == "petitions" else "已销号"
        closed = frame[done] if done in frame.columns else pd.Series(pd.NA, index=frame.index, dtype=TEXT)
        missing = ((frame[state] == finished).fillna(False) & closed.isna()).to_numpy(dtype=bool)
        if missing.any():
            tables.append(error_table(frame.index[missing], kind.header_of(done), [""] * int(missing.sum()),
                                      f"{kind.header_of(state)}为“{finished}”时须填写{kind.header_of(done)}"))
        early = (closed.notna() & (closed < frame[start])).fillna(False).to_numpy(dtype=bool)
        if early.any():
            tables.append(error_table(frame.index[early], kind.header_of(done), closed[early],
                                      [f"{kind.header_of(done)}早于{kind.header_of(start)} {d}" for d in frame[start][early]]))
    if kind.key == "ledger":
        late = (frame["deadline"] < frame["created"]).fillna(False).to_numpy(dtype=bool)
        if late.any():
            tables.append(error_table(frame.index[late], "完成时限", frame["deadline"][late], "完成时限早于登记日期"))
        place = (frame.get("township", pd.Series(pd.NA, index=frame.index)).isna()
                 & frame.get("school", pd.Series(pd.NA, index=frame.index)).isna()).to_numpy(dtype=bool)
        if place.any():
            tables.append(error_table(frame.index[place], "乡镇（街道）", [""] * int(place.sum()), "乡镇（街道）与学校至少填写一项"))
    return tables


@dataclass(frozen=True)
class Rule:
    """One rule a column can carry: the pandera check and the Chinese sentence for a cell that fails it."""

    check: Callable[[Column, Settings], pa.Check]
    message: Callable[[str, str, Column, Settings], str]  # (header, value as typed, column, settings) → reason


def _answer_reason(header: str, value: str, column: Column, settings: Settings) -> str:
    if re.fullmatch(r"\d+(\.0+)?", value):
        return f"答案代码 {value} 不在允许的代码（{'、'.join(settings.codes)}）之内"
    return f"“{value}”不是有效答案，应为：{'/'.join(allowed_answers(settings))}（或代码 {'、'.join(settings.codes)}）"


# Every rule a contract column can name (Column.rule), in one place: adding a column is one line in the contract.
RULES: dict[str, Rule] = {
    "answer": Rule(lambda c, s: pa.Check.isin(allowed_answers(s), name="answer"), _answer_reason),
    "county": Rule(lambda c, s: pa.Check.isin(list(s.counties), name="county"),
                   lambda h, v, c, s: f"县区“{v}”不在本市县区列表中{county_hint(v, s)}"),
    "positive": Rule(lambda c, s: pa.Check.gt(0, name="positive"), lambda h, v, c, s: f"{h}必须大于 0，现为 {v}"),
    "rank_range": Rule(lambda c, s: pa.Check.in_range(1, len(s.counties), name="rank_range"),
                       lambda h, v, c, s: f"名次应在 1–{len(s.counties)} 之间，现为 {v}"),
    "score_range": Rule(lambda c, s: pa.Check.in_range(0, 100, name="score_range"),
                        lambda h, v, c, s: f"“{h}”应在 0–100 之间，现为 {v}"),
    "stage": Rule(lambda c, s: pa.Check.isin(list(SCHOOL_STAGES), name="stage"),
                  lambda h, v, c, s: f"学段应为 {'/'.join(SCHOOL_STAGES)}，现为“{v}”"),
    "class_size": Rule(lambda c, s: pa.Check.in_range(1, 150, name="class_size"),
                       lambda h, v, c, s: f"学生数应在 1–150 之间，现为 {v}"),
    "choice": Rule(lambda c, s: pa.Check.isin(list(c.choices), name="choice"),
                   lambda h, v, c, s: f"“{h}”应为 {'/'.join(c.choices)}，现为“{v}”"),
    "ledger_item": Rule(lambda c, s: pa.Check.isin([*s.items, OTHER_ITEM], name="ledger_item"),
                        lambda h, v, c, s: f"分项“{v}”不在分项列表中，应为 {'/'.join(s.items)} 或“{OTHER_ITEM}”"),
    "non_negative": Rule(lambda c, s: pa.Check.ge(0, name="non_negative"), lambda h, v, c, s: f"“{h}”不能为负数，现为 {v}"),
}


def column_rule(column: Column) -> str:
    """The rule a column carries: its own, else "not negative" for a number, else none."""
    return column.rule or ("non_negative" if column.dtype in ("int", "float") else "")


def contract_schema(kind: FileKind, settings: Settings) -> pa.DataFrameSchema:
    """The pandera schema for one file kind: each column with the check its contract rule names."""
    checks: dict[str, pa.Column] = {}
    for column in kind.columns:
        rule = column_rule(column)
        col_checks = [RULES[rule].check(column, settings)] if rule else []
        # An unanswered question is allowed (it is not scored); other columns are required when the contract says so.
        nullable = not column.required or column.rule == "answer"
        dtype = "float64" if column.dtype in ("int", "float") else None
        checks[column.name] = pa.Column(dtype, col_checks, nullable=nullable, required=column.required)
    return pa.DataFrameSchema(checks, strict=False)


def county_hint(value: str, settings: Settings) -> str:
    """'，是否为“云溪县”？' for a near miss, else the list of the city's counties."""
    guess = difflib.get_close_matches(str(value), settings.counties, n=1, cutoff=0.3)
    return f"，是否为“{guess[0]}”？" if guess else f"；本市县区：{'、'.join(settings.counties)}"


def failure_reason(column: str, check: str, value: str, kind: FileKind, settings: Settings) -> str:
    """One Chinese sentence for a pandera failure; value is the cell as the analyst typed it."""
    header = kind.header_of(column)
    if check == "not_nullable":
        return f"必填项“{header}”为空"
    spec = next((c for c in kind.columns if c.name == column), Column(column, header))
    return RULES[check].message(header, value, spec, settings) if check in RULES else f"未通过检查 {check}"


def typed_frame(frame: pd.DataFrame, kind: FileKind, settings: Settings) -> tuple[pd.DataFrame, list[pd.DataFrame], list[str]]:
    """Text cells converted to the contract's types; error tables for unparseable numbers; privacy notes."""
    errors: list[pd.DataFrame] = []
    notes: list[str] = []
    out = {}
    answers = set(answer_columns(settings.items))
    for column in kind.columns:
        if column.name not in frame.columns or column.name == "phone":
            continue  # a phone number is never stored: the bureau has no use for it after the call
        series = as_text(frame[column.name])
        if column.name in answers:
            out[column.name] = normalise_answers(series, settings)
        elif column.dtype == "date":
            dates, bad = date_column(series)
            if bad.any():
                values = series[bad]
                errors.append(error_table(values.index, column.header, values,
                                          "“" + values.astype(str) + "”不是有效日期（应如 2026-03-15 或 2026/3/15）"))
            out[column.name] = dates
        elif column.dtype in ("int", "float"):
            numbers, bad = numeric_column(series)
            if bad.any():
                values = series[bad]
                errors.append(error_table(values.index, column.header, values, "“" + values.astype(str) + "”不是数字"))
            fraction = (numbers.notna() & (numbers % 1 != 0)).to_numpy() if column.dtype == "int" else np.zeros(len(numbers), bool)
            if fraction.any():
                values = series[fraction]
                errors.append(error_table(values.index, column.header, values, f"“{column.header}”应为整数"))
                numbers = numbers.where(~fraction)
            if column.name == "weight":
                numbers = numbers.fillna(1.0).where(~bad)  # an empty weight means 1; a bad one stays missing
            out[column.name] = numbers
        elif column.name in FREE_TEXT:
            stripped = strip_controls(series).str.strip()
            masked = mask_personal_numbers(stripped.mask(stripped == ""))
            changed = int((masked.fillna("") != stripped.fillna("")).sum())
            if changed:
                notes.append(f"“{column.header}”中有 {changed} 条含手机号或身份证号，已打码后存储。")
            out[column.name] = masked
        elif column.name in ("respondent_id", "order_id"):
            ids, hidden = hide_personal_ids(normalise_text(series))
            if hidden:
                notes.append(f"“{column.header}”中有 {hidden} 个是或含有手机号或身份证号，为保护隐私已改为“{HIDDEN_ID_PREFIX}”加"
                             f"不可还原的编码存储（同一号码编码相同）。")
                if not os.environ.get(ID_KEY_ENV):
                    notes.append(f"服务器没有设置密钥 {ID_KEY_ENV}，上述编码用的是程序自带的公开密钥：拿到数据库的人可以逐个号码"
                                 "试算还原。请管理员设置该环境变量（见 deploy/README.md）后再导入正式数据。")
            out[column.name] = ids
        else:
            out[column.name] = mask_personal_numbers(normalise_text(series))
    typed = pd.DataFrame(out, index=frame.index)
    if "weight" not in typed.columns and kind.key == "responses":
        typed = typed.assign(weight=1.0)
    if kind.key == "petitions":
        typed, month_errors = petition_months(typed, kind)
        errors += month_errors
        if "channel" in typed.columns:
            typed["channel"] = typed["channel"].replace(CHANNEL_ALIASES).astype(TEXT)
    return typed, errors, notes


def error_table(rows, column: str, values, reasons) -> pd.DataFrame:
    """Errors in the analyst's terms: Excel row, Chinese column header, the cell as typed (numbers masked), the reason."""
    values = pd.Series(values, dtype=object).fillna("").astype(str).map(mask_text)
    return pd.DataFrame({"行号": np.asarray(rows, dtype=np.int64), "列": column, "值": values.to_numpy(),
                         "问题": np.asarray(reasons, dtype=object) if not isinstance(reasons, str) else reasons})


def schema_errors(typed: pd.DataFrame, raw: pd.DataFrame, kind: FileKind, settings: Settings) -> list[pd.DataFrame]:
    """Pandera's failure cases as Chinese error tables, one reason computed per distinct (column, check, value)."""
    schema = contract_schema(kind, settings)
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
    else:
        return []
    # Pandera reports a check by its repr ('isin([...])'); the check's position in the column gives back our name.
    names = [schema.columns[c].checks[int(n)].name if pd.notna(n) and c in schema.columns else k
             for c, k, n in zip(cases["column"], cases["check"], cases["check_number"])]
    cases = cases.assign(check=names)
    tables = []
    for (column, check), group in cases.groupby(["column", "check"], sort=False):
        rows = group["index"].astype(np.int64).to_numpy()
        source = raw[column] if column in raw.columns else typed[column]
        values = as_text(source).reindex(rows).fillna("").str.strip()
        reasons = map_unique(values, lambda v, c=column, k=check: failure_reason(c, k, v, kind, settings))
        tables.append(error_table(rows, kind.header_of(column), values, reasons.fillna(failure_reason(column, check, "", kind, settings))))
    return tables


WAVE_MAX_CHARS = 30
WAVE_FORMS = ("无法识别测评批次属于哪一期，可用的写法：2026年第3季度、2026年三季度、2026Q3、2026年上半年、2026年下半年、2026年度"
              f"（年份在 {WAVE_YEARS.start}–{WAVE_YEARS.stop - 1} 之间）")
# Chinese, letters, digits and a little punctuation: enough for "2026年第3季度" or "2026Q3（补测）", and nothing that
# Markdown, HTML or an Excel sheet name would read as markup.
WAVE_PATTERN = rf"^[\p{{Han}}A-Za-z0-9（）()·\-_ ]{{1,{WAVE_MAX_CHARS}}}$"


def wave_errors(frame: pd.DataFrame, kind: FileKind) -> list[pd.DataFrame]:
    """Wave names too long or with characters other than Chinese, letters, digits and （）()·-_ (one error per row)."""
    if "wave" not in frame.columns or kind.period != "wave":
        return []
    waves = as_text(frame["wave"])
    ok = per_distinct(pyarrow.array(waves, from_pandas=True),  # a file holds one or two waves: checked once each
                      lambda a: pc.match_substring_regex(a, WAVE_PATTERN)).to_numpy(zero_copy_only=False)
    bad = ~np.asarray(pd.array(ok, dtype="boolean").fillna(True), dtype=bool)  # a missing wave is reported elsewhere
    # The label must also name a period, so that trends and 较上期 follow time, not the alphabet.
    known = {w: wave_period(w) is not None for w in waves[~bad].dropna().unique()}
    unparsed = ~bad & waves.map(known).eq(False).to_numpy()  # NaN (a missing or refused name) is not "unparsed"
    tables = []
    if bad.any():
        reason = (f"测评批次名称只能含汉字、字母、数字与（）()·-_，不超过 {WAVE_MAX_CHARS} 个字（如“2026年第3季度”）")
        tables.append(error_table(waves[bad].index, kind.header_of("wave"), waves[bad], reason))
    if unparsed.any():
        tables.append(error_table(waves[unparsed].index, kind.header_of("wave"), waves[unparsed], WAVE_FORMS))
    return tables


def duplicate_errors(frame: pd.DataFrame, kind: FileKind) -> list[pd.DataFrame]:
    """One error per row whose key repeats an earlier row (rows with an empty key are reported as empty instead)."""
    keys = [k for k in kind.unique if k in frame.columns]
    if not keys:
        return []
    keyed = frame[keys].dropna()
    dup = keyed.duplicated(keys, keep="first").to_numpy()
    if not dup.any():
        return []
    rows = pd.Series(keyed.index.to_numpy(), index=keyed.index)
    first = rows.groupby([keyed[k] for k in keys], sort=False).transform("first").to_numpy()
    label = kind.header_of(kind.unique[-1])
    scope = "同一测评批次内" if "wave" in keys else "同一年度内" if "year" in keys else "文件中"
    reasons = [f"{label}在{scope}重复（与第 {f} 行相同）" for f in first[dup]]
    return [error_table(keyed.index[dup], label, keyed[kind.unique[-1]].to_numpy()[dup], reasons)]


def class_grade_errors(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Grades that do not belong to the class's stage."""
    if "grade" not in frame.columns or "stage" not in frame.columns:
        return []
    allowed = {(s, g) for s, grades in GRADES.items() for g in grades}
    pairs = list(zip(frame["stage"], frame["grade"]))
    bad = np.array([p not in allowed and p[0] in GRADES for p in pairs], dtype=bool)
    if not bad.any():
        return []
    part = frame[bad]
    reasons = [f"年级“{g}”不属于学段“{s}”" for s, g in zip(part["stage"], part["grade"])]
    return [error_table(part.index, "年级", part["grade"], reasons)]


def consistency_errors(frame: pd.DataFrame, kind: FileKind) -> list[pd.DataFrame]:
    """Counts that contradict each other (a part larger than its whole)."""
    rules = {
        "preschool": [("enrolled_public", "enrolled", "公办园在园幼儿数不能大于在园幼儿数"),
                      ("enrolled_inclusive_private", "enrolled", "普惠性民办园在园幼儿数不能大于在园幼儿数")],
        "compulsory": [("disabled_enrolled", "disabled_children", "残疾儿童入学数不能大于适龄残疾儿童数")],
    }.get(kind.key, [])
    tables = []
    for part, whole, reason in rules:
        bad = (frame[part] > frame[whole]).to_numpy()
        if bad.any():
            tables.append(error_table(frame.index[bad], kind.header_of(part), frame[part][bad].map("{:g}".format), reason))
    if kind.key == "preschool":
        bad = (frame["enrolled_public"] + frame["enrolled_inclusive_private"] > frame["enrolled"]).to_numpy()
        if bad.any():
            tables.append(error_table(frame.index[bad], "普惠性民办园在园幼儿数",
                                      frame["enrolled_inclusive_private"][bad].map("{:g}".format),
                                      "公办园与普惠性民办园在园幼儿数之和大于在园幼儿数"))
    return tables


def validate_frame(frame: pd.DataFrame, kind: FileKind, settings: Settings) -> Validation:
    """Typed, checked rows; a Chinese error table (Excel row, column, value, reason) and warnings."""
    typed, tables, notes = typed_frame(frame, kind, settings)
    tables += schema_errors(typed, frame, kind, settings)
    tables += duplicate_errors(typed, kind)
    tables += wave_errors(typed, kind)
    if kind.key == "classes":
        tables += class_grade_errors(typed)
    if not any(len(t) for t in tables):
        tables += consistency_errors(typed, kind)
        tables += action_errors(typed, kind)
    tables = [t for t in tables if len(t)]
    errors = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=ERROR_COLUMNS)
    # One line per cell: a number that did not parse is missing to pandera too, and "不是数字" says more than "为空".
    errors = errors.drop_duplicates(["行号", "列"], keep="first")
    order = {c.header: i for i, c in enumerate(kind.columns)}  # columns in the contract's order, as the file has them
    errors = (errors.assign(_order=errors["列"].map(order).fillna(len(order)))
              .sort_values(["行号", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True))
    return Validation(typed, errors, notes + validation_warnings(typed, kind, settings))


def validation_warnings(frame: pd.DataFrame, kind: FileKind, settings: Settings) -> list[str]:
    """Notes that do not block: county samples smaller than the settings' minimum group size."""
    warnings = []
    min_n = settings.min_group_n
    if kind.key == "responses" and {"wave", "county"} <= set(frame.columns):
        known = frame[frame["county"].isin(settings.counties).to_numpy(dtype=bool, na_value=False)]
        counts = known.groupby(["wave", "county"]).size()
        for (wave, county), n in counts[counts < min_n].items():
            warnings.append(f"{wave} {county} 只有 {n} 份问卷（少于 {min_n} 份），其得分和名次很不稳定。")
    return warnings
