"""Validation: answer labels and codes, county suggestions, numbers, privacy masking, the Chinese error table, warnings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis.data.contract import CLASSES, responses_kind
from analysis.data.validate import (county_hint, hide_personal_ids, mask_text, normalise_answers, numeric_column,
                                    validate_frame)


def frame(rows: list[dict], start: int = 2) -> pd.DataFrame:
    """Text cells as the reader hands them over (index = Excel row)."""
    out = pd.DataFrame(rows, dtype="str").fillna("")
    out.index = pd.Index(range(start, start + len(out)), name="excel_row")
    return out


def response(i: int, **cells) -> dict:
    return {"respondent_id": f"R{i}", "wave": "2026年第3季度", "county": "云溪县", "overall": "满意"} | cells


@pytest.mark.parametrize("raw, label", [
    ("满意", "满意"), (" 满意 ", "满意"), ("比较 满意", "比较满意"), ("满\u3000意", "满意"), ("\u200b一般", "一般"),
    ("1", "满意"), ("2", "比较满意"), ("3", "一般"), ("4", "不太满意"), ("5", "不满意"), ("9", "不了解"),
    ("１", "满意"), ("1.0", "满意"), (" 9 ", "不了解"), ("说不清", "说不清"), ("拒答", "拒答"),
])
def test_answer_labels_and_codes(settings, raw, label):
    assert normalise_answers(pd.Series([raw], dtype="str"), settings).tolist() == [label]


def test_empty_answer_is_missing(settings):
    assert normalise_answers(pd.Series(["", "  ", None], dtype="str"), settings).isna().tolist() == [True, True, True]


@pytest.mark.parametrize("value, hint", [
    ("云西县", "，是否为“云溪县”？"),
    ("云溪", "，是否为“云溪县”？"),
    ("临江", "，是否为“临江区”？"),
    ("桃园县", "，是否为“桃源县”？"),
])
def test_county_did_you_mean(settings, value, hint):
    assert county_hint(value, settings) == hint


def test_county_without_any_near_match_lists_the_city(settings):
    assert county_hint("Beijing", settings) == "；本市县区：临江区、东湖区、西山区、北塘区、南岭县、青石县、云溪县、白河县、丰水县、明山县、桃源县"


def test_county_with_stray_spaces_is_accepted(settings):
    result = validate_frame(frame([response(1, county=" 云溪 县"), response(2, county="云溪县")]), responses_kind(settings.items), settings)
    assert result.ok
    assert result.frame["county"].tolist() == ["云溪县", "云溪县"]


@pytest.mark.parametrize("raw, number", [("1,234", 1234.0), ("85%", 85.0), ("１.５", 1.5), ("\u22122", -2.0), (" 3 ", 3.0)])
def test_numbers_from_text(raw, number):
    numbers, bad = numeric_column(pd.Series([raw], dtype="str"))
    assert numbers.tolist() == [number] and not bad.any()


def test_text_that_is_not_a_number():
    numbers, bad = numeric_column(pd.Series(["一", "", "1.5"], dtype="str"))
    assert bad.tolist() == [True, False, False]
    assert np.isnan(numbers.iloc[0]) and np.isnan(numbers.iloc[1]) and numbers.iloc[2] == 1.5


def test_empty_weight_means_one(settings):
    result = validate_frame(frame([response(1, weight=""), response(2, weight="2.5")]), responses_kind(settings.items), settings)
    assert result.ok and result.frame["weight"].tolist() == [1.0, 2.5]


def test_several_errors_sorted_by_row_with_the_cell_as_typed(settings):
    rows = [response(1, weight=" -1 "), response(2, county="云西县", overall="很满意"), response(3), response(1)]
    result = validate_frame(frame(rows), responses_kind(settings.items), settings)
    assert [tuple(r) for r in result.errors[["行号", "列", "值"]].itertuples(index=False)] == [
        (2, "权重", "-1"), (3, "县区", "云西县"), (3, "总体满意度", "很满意"), (5, "受访者编号", "R1")]


def test_class_sizes_must_be_whole_numbers(settings):
    rows = [{"year": "2025-2026学年", "school": "城关中学", "township": "城关镇", "stage": "初中", "grade": "七年级",
             "class_name": "1班", "students": "45.5"}]
    result = validate_frame(frame(rows), CLASSES, settings)
    assert list(result.errors.itertuples(index=False, name=None)) == [(2, "学生数", "45.5", "“学生数”应为整数")]


@pytest.mark.parametrize("text, masked", [
    ("电话13812345678", "电话138****5678"),
    ("电话 138-1234-5678 找我", "电话 138****5678 找我"),
    ("身份证11010119900307123X", "身份证110101********123X"),
    ("老身份证110101900307123", "老身份证110101*****7123"),  # 15-digit cards issued before 1999
    ("编号20251000000", "编号20251000000"),        # an 11-digit ID that is not a mobile number (starts with 2)
    ("学校电话0571-88889999", "学校电话0571-88889999"),  # landlines are not personal
    ("1234567890", "1234567890"),
])
def test_mask_text(text, masked):
    assert mask_text(text) == masked


def test_respondent_ids_that_are_phone_numbers_are_hidden():
    ids = pd.Series(["13912345678", "R2", "110101199003071234", "+8613912345678"], dtype="str",
                    index=pd.Index([2, 3, 4, 5], name="excel_row"))
    hidden, count = hide_personal_ids(ids)
    assert count == 3
    assert hidden.tolist()[1] == "R2"
    # A keyed hash: the same number (with or without +86) gives the same ID, so duplicates stay visible; no digits kept.
    assert hidden[2] == hidden[5] != hidden[4]
    assert all(h.startswith("隐去#") and "3912" not in h and "1101" not in h for h in hidden[[2, 4, 5]])


@pytest.mark.parametrize("value, hidden", [
    ("P13812345678", True), ("13812345678-01", True), ("ID:13812345678", True), ("tel13812345678", True),
    ("GD13812345678", True), ("R-138 1234 5678", True), ("A110101199003071234B", True),
    ("R001", False), ("GD001", False), ("P1381234567", False),  # ten digits: not a mobile number
    ("GD2026030100012", False), ("2026030113812345678", False),  # work-order numbers: long digit runs of their own
])
def test_ids_holding_a_phone_or_id_card_number_are_hashed_whole(value, hidden):
    out, count = hide_personal_ids(pd.Series([value], dtype="str"))
    assert (count, out.iloc[0].startswith("隐去#")) == (int(hidden), hidden)
    if hidden:
        assert "3812" not in out.iloc[0] and "1101" not in out.iloc[0]


def test_ids_that_differ_outside_the_number_stay_apart():
    out, _ = hide_personal_ids(pd.Series(["13812345678-01", "13812345678-02", "P13812345678", "Q13812345678"], dtype="str"))
    assert out.nunique() == 4


def test_small_county_warning_uses_the_setting(settings):
    rows = [response(i) for i in range(5)]
    kind = responses_kind(settings.items)
    assert validate_frame(frame(rows), kind, settings).warnings == [
        "2026年第3季度 云溪县 只有 5 份问卷（少于 30 份），其得分和名次很不稳定。"]
    assert validate_frame(frame(rows), kind, dataclasses.replace(settings, min_group_n=5)).warnings == []


def test_empty_respondent_id_is_reported_once_not_as_a_duplicate(settings):
    result = validate_frame(frame([response(1, respondent_id=""), response(2, respondent_id="")]), responses_kind(settings.items), settings)
    assert list(result.errors.itertuples(index=False, name=None)) == [
        (2, "受访者编号", "", "必填项“受访者编号”为空"), (3, "受访者编号", "", "必填项“受访者编号”为空")]


def test_same_id_in_two_waves_is_fine(settings):
    rows = [response(1), response(1, wave="2026年第4季度")]
    assert validate_frame(frame(rows), responses_kind(settings.items), settings).ok


def test_error_values_mask_personal_numbers(settings):
    result = validate_frame(frame([response(1, overall="13812345678")]), responses_kind(settings.items), settings)
    assert result.errors["值"].tolist() == ["138****5678"]


def test_a_new_column_is_one_line_of_the_contract(settings):
    """A kind declared with rules on its columns is checked with their Chinese messages; nothing else to edit."""
    import pandas as pd

    from analysis.data.contract import Column, FileKind
    from analysis.data.validate import validate_frame

    kind = FileKind("demo", "演示", (Column("k", "类别", True, rule="choice", choices=("甲", "乙")),
                                     Column("n", "数量", dtype="int"), Column("c", "县区", rule="county")))
    frame = pd.DataFrame({"k": ["甲", "丙"], "n": ["3", "-1"], "c": ["云溪县", "云西县"]}, index=[2, 3])
    errors = validate_frame(frame, kind, settings).errors
    reasons = dict(zip(errors["列"], errors["问题"]))
    assert reasons["类别"] == "“类别”应为 甲/乙，现为“丙”"
    assert reasons["数量"] == "“数量”不能为负数，现为 -1"
    assert reasons["县区"].startswith("县区“云西县”不在本市县区列表中，是否为“云溪县”？")
