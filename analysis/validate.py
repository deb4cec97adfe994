"""Check uploaded rows against the data contract (pandera schemas) and explain every failure in Chinese."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from analysis.contract import GRADES, SCHOOL_STAGES, FileKind, answer_columns
from analysis.readers import per_distinct
from analysis.settings import Settings

ERROR_COLUMNS = ["行号", "列", "值", "问题"]
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str": Arrow-backed, so checks are vectorised
INVISIBLE = r"[\s\x{00A0}\x{200B}\x{200C}\x{200D}\x{2060}\x{3000}\x{FEFF}]+"
PHONE_PATTERN = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
ID_CARD_PATTERN = re.compile(
    r"(?<![\dXx])(\d{6})(?:(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]|"
    r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})(?![\dXx])")
PERSONAL_ID = r"^(\+?86)?1[3-9]\d{9}$|^\d{6}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx]$"
HIDDEN_ID_PREFIX = "隐去#"


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


def mask_text(value: str) -> str:
    """Phone and ID-card numbers inside one text replaced by asterisks, keeping a few digits for recognition."""
    value = PHONE_PATTERN.sub(lambda m: m.group(1) + "****" + m.group(3), value)
    return ID_CARD_PATTERN.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 10) + m.group(0)[-4:], value)


def mask_personal_numbers(series: pd.Series) -> pd.Series:
    """Phone and ID-card numbers inside free text replaced by asterisks."""
    return map_unique(as_text(series), mask_text)


def hide_personal_ids(ids: pd.Series) -> tuple[pd.Series, int]:
    """Respondent IDs that are phone or ID-card numbers replaced by '隐去#<Excel row>' (not derivable from the number)."""
    hits = pc.match_substring_regex(pyarrow.array(ids, from_pandas=True), PERSONAL_ID).to_numpy(zero_copy_only=False)
    hits = np.asarray(pd.array(hits, dtype="boolean").fillna(False), dtype=bool)
    if not hits.any():
        return ids, 0
    hidden = ids.copy()
    hidden[hits] = [f"{HIDDEN_ID_PREFIX}{row}" for row in ids.index[hits]]
    return hidden.astype(TEXT), int(hits.sum())


def allowed_answers(settings: Settings) -> list[str]:
    """Every answer label the scale accepts, scored or excluded."""
    return list(settings.points) + list(settings.excluded)


def numeric_column(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers parsed from text cells ('1,234', '85%', full-width digits), and a mask of filled cells that are not numbers."""
    text = normalise_text(series).str.replace(",", "", regex=False).str.replace("\u2212", "-", regex=False).str.rstrip("%")
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    return numbers, (text.notna() & numbers.isna()).to_numpy(dtype=bool)


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


def county_hint(value: str, settings: Settings) -> str:
    """'，是否为“云溪县”？' for a near miss, else the list of the city's counties."""
    guess = difflib.get_close_matches(str(value), settings.counties, n=1, cutoff=0.3)
    return f"，是否为“{guess[0]}”？" if guess else f"；本市县区：{'、'.join(settings.counties)}"


def failure_reason(column: str, check: str, value: str, kind: FileKind, settings: Settings) -> str:
    """One Chinese sentence for a pandera failure; value is the cell as the analyst typed it."""
    header = kind.header_of(column)
    if check == "not_nullable":
        return f"必填项“{header}”为空"
    if check == "answer":
        if re.fullmatch(r"\d+(\.0+)?", value):
            return f"答案代码 {value} 不在允许的代码（{'、'.join(settings.codes)}）之内"
        return f"“{value}”不是有效答案，应为：{'/'.join(allowed_answers(settings))}（或代码 {'、'.join(settings.codes)}）"
    if check == "county":
        return f"县区“{value}”不在本市县区列表中{county_hint(value, settings)}"
    if check == "positive":
        return f"权重必须大于 0，现为 {value}"
    if check == "rank_range":
        return f"名次应在 1–{len(settings.counties)} 之间，现为 {value}"
    if check == "score_range":
        return f"得分应在 0–100 之间，现为 {value}"
    if check == "stage":
        return f"学段应为 {'/'.join(SCHOOL_STAGES)}，现为“{value}”"
    if check == "class_size":
        return f"学生数应在 1–150 之间，现为 {value}"
    if check == "non_negative":
        return f"“{header}”不能为负数，现为 {value}"
    return f"未通过检查 {check}"


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
        elif column.name == "comment":
            stripped = series.str.strip()
            masked = mask_personal_numbers(stripped.mask(stripped == ""))
            changed = int((masked.fillna("") != stripped.fillna("")).sum())
            if changed:
                notes.append(f"“{column.header}”中有 {changed} 条含手机号或身份证号，已打码后存储。")
            out[column.name] = masked
        elif column.name == "respondent_id":
            ids, hidden = hide_personal_ids(normalise_text(series))
            if hidden:
                notes.append(f"“{column.header}”中有 {hidden} 个是手机号或身份证号，为保护隐私已改为“{HIDDEN_ID_PREFIX}行号”存储。")
            out[column.name] = ids
        else:
            out[column.name] = mask_personal_numbers(normalise_text(series))
    typed = pd.DataFrame(out, index=frame.index)
    if "weight" not in typed.columns and kind.key == "responses":
        typed = typed.assign(weight=1.0)
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
    scope = "同一测评批次内" if "wave" in keys else "同一年度内"
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
    if kind.key == "classes":
        tables += class_grade_errors(typed)
    if not any(len(t) for t in tables):
        tables += consistency_errors(typed, kind)
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
