"""Check uploaded rows against the data contract (pandera schemas) and explain every failure in Chinese."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.contract import GRADES, SCHOOL_STAGES, FileKind, answer_columns
from analysis.settings import Settings

ERROR_COLUMNS = ["行号", "列", "值", "问题"]
MIN_COUNTY_N = 30
PHONE_PATTERN = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_CARD_PATTERN = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


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


def normalise_text(series: pd.Series) -> pd.Series:
    """Full-width to half-width (NFKC) and stray spaces removed; empty becomes missing."""
    text = series.astype("string").map(lambda v: unicodedata.normalize("NFKC", v), na_action="ignore")
    text = text.str.replace(r"\s+", "", regex=True)
    return text.mask(text == "")


def normalise_answers(series: pd.Series, settings: Settings) -> pd.Series:
    """Answer labels with vendor codes (1 满意 … 9 不了解) replaced by their labels."""
    text = normalise_text(series)
    return text.replace(settings.codes)


def mask_personal_numbers(series: pd.Series) -> pd.Series:
    """Phone and ID-card numbers inside free text replaced by asterisks."""
    text = series.astype("string")
    text = text.str.replace(PHONE_PATTERN, lambda m: m.group(0)[:3] + "****" + m.group(0)[-4:], regex=True)
    return text.str.replace(ID_CARD_PATTERN, lambda m: m.group(0)[:6] + "********" + m.group(0)[-4:], regex=True)


def allowed_answers(settings: Settings) -> list[str]:
    """Every answer label the scale accepts, scored or excluded."""
    return list(settings.points) + list(settings.excluded)


def numeric_column(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers parsed from text cells, and a mask of cells that were filled but not numbers."""
    text = normalise_text(series).str.replace(",", "", regex=False).str.rstrip("%")
    numbers = pd.to_numeric(text, errors="coerce")
    return numbers.astype("float64"), text.notna() & numbers.isna()


def contract_schema(kind: FileKind, settings: Settings) -> pa.DataFrameSchema:
    """The pandera schema for one file kind under the current settings."""
    answers = allowed_answers(settings)
    checks: dict[str, pa.Column] = {}
    for column in kind.columns:
        col_checks = []
        if column.name in answer_columns(settings.items):
            col_checks.append(pa.Check.isin(answers, name="answer"))
        elif column.name == "county":
            col_checks.append(pa.Check.isin(list(settings.counties), name="county"))
        elif column.name == "weight":
            col_checks.append(pa.Check.gt(0, name="positive"))
        elif column.name in ("rank",):
            col_checks.append(pa.Check.in_range(1, len(settings.counties), name="rank_range"))
        elif column.name == "score":
            col_checks.append(pa.Check.in_range(0, 100, name="score_range"))
        elif column.name == "stage":
            col_checks.append(pa.Check.isin(list(SCHOOL_STAGES), name="stage"))
        elif column.name == "students":
            col_checks.append(pa.Check.in_range(1, 150, name="class_size"))
        elif column.dtype in ("int", "float"):
            col_checks.append(pa.Check.ge(0, name="non_negative"))
        nullable = not column.required or column.name in answer_columns(settings.items)
        dtype = "float64" if column.dtype in ("int", "float") else None
        checks[column.name] = pa.Column(dtype, col_checks, nullable=nullable, required=column.required)
    return pa.DataFrameSchema(checks, strict=False)


def failure_reason(column: str, check: str, value, kind: FileKind, settings: Settings) -> str:
    """One Chinese sentence for a pandera failure."""
    header = kind.header_of(column)
    if check == "not_nullable":
        return f"必填项“{header}”为空"
    if check == "answer":
        if re.fullmatch(r"\d+", str(value)):
            codes = "、".join(settings.codes)
            return f"答案代码 {value} 不在允许的代码（{codes}）之内"
        return f"“{value}”不是有效答案，应为：{'/'.join(allowed_answers(settings))}"
    if check == "county":
        guess = difflib.get_close_matches(str(value), settings.counties, n=1, cutoff=0.3)
        hint = f"，是否为“{guess[0]}”？" if guess else f"；县区列表：{'、'.join(settings.counties)}"
        return f"县区“{value}”不在本市县区列表中{hint}"
    if check == "positive":
        return f"权重必须大于 0，现为 {value}"
    if check == "rank_range":
        return f"名次应在 1–{len(settings.counties)} 之间"
    if check == "score_range":
        return "得分应在 0–100 之间"
    if check == "stage":
        return f"学段应为 {'/'.join(SCHOOL_STAGES)}"
    if check == "class_size":
        return "学生数应在 1–150 之间"
    if check == "non_negative":
        return "不能为负数"
    return f"未通过检查 {check}"


def typed_frame(frame: pd.DataFrame, kind: FileKind, settings: Settings) -> tuple[pd.DataFrame, list[dict]]:
    """Text cells converted to the contract's types, with an error record for each unparseable number."""
    errors: list[dict] = []
    out = {}
    answers = set(answer_columns(settings.items))
    for column in kind.columns:
        if column.name not in frame.columns:
            continue
        series = frame[column.name]
        if column.name in answers:
            out[column.name] = normalise_answers(series, settings)
        elif column.name == "phone":
            continue  # never stored: the bureau has no use for a clear phone number after the call
        elif column.dtype in ("int", "float"):
            numbers, bad = numeric_column(series)
            for row, value in series[bad].items():
                errors.append({"行号": row, "列": column.header, "值": value, "问题": f"“{value}”不是数字"})
            if column.name == "weight":
                numbers = numbers.mask(series.fillna("").str.strip() == "", 1.0)
            out[column.name] = numbers
        elif column.name == "comment":
            out[column.name] = mask_personal_numbers(series.str.strip()).mask(series.str.strip() == "")
        else:
            out[column.name] = normalise_text(series)
    typed = pd.DataFrame(out, index=frame.index)
    if "weight" not in typed.columns and kind.key == "responses":
        typed = typed.assign(weight=1.0)
    return typed, errors


def duplicate_errors(frame: pd.DataFrame, kind: FileKind) -> list[dict]:
    """One error per row whose key repeats an earlier row."""
    keys = [k for k in kind.unique if k in frame.columns]
    if not keys:
        return []
    dup = frame.duplicated(keys, keep="first")
    if not dup.any():
        return []
    first_row = frame.reset_index().groupby(keys, dropna=False)["excel_row"].transform("first").to_numpy()
    first_of = pd.Series(first_row, index=frame.index)
    label = kind.header_of(kind.unique[-1])
    scope = "同一测评批次内" if "wave" in keys else "同一年度内"
    return [{"行号": row, "列": label, "值": str(frame.at[row, kind.unique[-1]]), "问题": f"{label}在{scope}重复（与第 {first_of[row]} 行相同）"}
            for row in frame.index[dup]]


def class_grade_errors(frame: pd.DataFrame) -> list[dict]:
    """Grades that do not belong to the class's stage."""
    if "grade" not in frame.columns or "stage" not in frame.columns:
        return []
    allowed = {(s, g) for s, grades in GRADES.items() for g in grades}
    pairs = list(zip(frame["stage"], frame["grade"]))
    bad = np.array([p not in allowed and p[0] in GRADES for p in pairs], dtype=bool)
    return [{"行号": row, "列": "年级", "值": str(frame.at[row, "grade"]), "问题": f"年级“{frame.at[row, 'grade']}”不属于学段“{frame.at[row, 'stage']}”"}
            for row in frame.index[bad]]


def consistency_errors(frame: pd.DataFrame, kind: FileKind) -> list[dict]:
    """Counts that contradict each other (a part larger than its whole)."""
    rules = {
        "preschool": [("enrolled_public", "enrolled", "公办园在园幼儿数不能大于在园幼儿数"),
                      ("enrolled_inclusive_private", "enrolled", "普惠性民办园在园幼儿数不能大于在园幼儿数")],
        "compulsory": [("disabled_enrolled", "disabled_children", "残疾儿童入学数不能大于适龄残疾儿童数")],
    }.get(kind.key, [])
    errors = []
    for part, whole, reason in rules:
        bad = frame[part] > frame[whole]
        errors += [{"行号": row, "列": kind.header_of(part), "值": str(frame.at[row, part]), "问题": reason} for row in frame.index[bad]]
    if kind.key == "preschool":
        bad = frame["enrolled_public"] + frame["enrolled_inclusive_private"] > frame["enrolled"]
        errors += [{"行号": row, "列": "普惠性民办园在园幼儿数", "值": str(frame.at[row, "enrolled_inclusive_private"]),
                    "问题": "公办园与普惠性民办园在园幼儿数之和大于在园幼儿数"} for row in frame.index[bad]]
    return errors


def validate_frame(frame: pd.DataFrame, kind: FileKind, settings: Settings) -> Validation:
    """Typed, checked rows; a Chinese error table (Excel row, column, value, reason) and warnings."""
    typed, errors = typed_frame(frame, kind, settings)
    schema = contract_schema(kind, settings)
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        for case in cases.itertuples():
            value = "" if pd.isna(case.failure_case) else str(case.failure_case)
            errors.append({"行号": int(case.index), "列": kind.header_of(case.column), "值": value,
                           "问题": failure_reason(case.column, case.check, value, kind, settings)})
    errors += duplicate_errors(typed, kind)
    if kind.key == "classes":
        errors += class_grade_errors(typed)
    if not errors:
        errors += consistency_errors(typed, kind)
    table = pd.DataFrame(errors, columns=ERROR_COLUMNS).sort_values(["行号", "列"], kind="stable").reset_index(drop=True)
    return Validation(typed, table, validation_warnings(typed, kind))


def validation_warnings(frame: pd.DataFrame, kind: FileKind) -> list[str]:
    """Notes that do not block: small county samples."""
    warnings = []
    if kind.key == "responses" and {"wave", "county"} <= set(frame.columns):
        counts = frame.groupby(["wave", "county"]).size()
        for (wave, county), n in counts[counts < MIN_COUNTY_N].items():
            warnings.append(f"{wave} {county} 只有 {n} 份问卷（少于 {MIN_COUNTY_N} 份），其得分和名次很不稳定。")
    return warnings
