"""Reading uploads: encodings, header normalisation and aliases, xlsx sheets, title rows and Excel row numbers."""

from __future__ import annotations

import io

import openpyxl
import pytest

from analysis.data.contract import PRESCHOOL, responses_kind
from analysis.data.readers import (ReadError, declared_encoding, excel_column_letter, looks_like_mojibake,
                                   normalise_header, read_upload, xlsx_sheet_names)

ITEMS = ("办学条件", "师德师风")
KIND = responses_kind(ITEMS)
ROWS = "R001,2026年第3季度,云溪县,满意,城关镇\r\nR002,2026年第3季度,临江区,一般,东湖街道\r\n"
HEADER = "受访者编号,测评批次,县区,总体满意度,乡镇（街道）\r\n"


def read_text(text: str, encoding: str = "utf-8", name: str = "问卷.csv"):
    return read_upload(text.encode(encoding), name, KIND)


@pytest.mark.parametrize("encoding, label", [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8（带BOM）"),
    ("gbk", "GBK/GB18030"),
    ("gb18030", "GBK/GB18030"),
])
def test_encodings_are_detected_and_named(encoding, label):
    result = read_text(HEADER + ROWS, encoding)
    assert result.encoding == label
    assert result.frame["county"].tolist() == ["云溪县", "临江区"]
    assert result.frame["township"].tolist() == ["城关镇", "东湖街道"]
    assert result.notices == []


def test_gb18030_four_byte_character():
    with pytest.raises(UnicodeEncodeError):
        "𠀀".encode("gbk")  # the premise: this character exists only in GB18030, as four bytes
    text = HEADER.replace("\r\n", ",意见建议\r\n") + "R001,2026年第3季度,云溪县,满意,城关镇,𠀀字\r\n"
    result = read_text(text, "gb18030")
    assert result.encoding == "GBK/GB18030"
    assert result.frame["comment"].tolist() == ["𠀀字"]


@pytest.mark.parametrize("name, claimed", [
    ("问卷.utf8.csv", "UTF-8"), ("问卷_UTF-8.csv", "UTF-8"), ("问卷_GBK.csv", "GBK/GB18030"), ("gb2312版.csv", "GBK/GB18030"),
    ("问卷.csv", None),
])
def test_declared_encoding_from_the_file_name(name, claimed):
    assert declared_encoding(name) == claimed


def test_utf8_file_named_gbk_gets_a_notice():
    result = read_text(HEADER + ROWS, "utf-8", name="问卷_GBK.csv")
    assert result.notices == ["文件名标注为 GBK/GB18030 编码，但内容实际是 UTF-8 编码，已按 UTF-8 读取。"]


def test_mojibake_detector():
    assert not looks_like_mojibake("县区,乡镇（街道）,满意,比较满意,云溪县城关镇")
    assert looks_like_mojibake("Año,Señal".encode("latin-1").decode("gb18030") * 5)
    assert not looks_like_mojibake("abc")  # too few characters to judge


@pytest.mark.parametrize("text, key", [
    ("乡镇（街道）", "乡镇(街道)"),
    ("乡镇(街道)", "乡镇(街道)"),
    (" 县 区 ", "县区"),
    ("\ufeff受访者编号", "受访者编号"),
    ("县\u3000区", "县区"),
    ("3－5岁常住人口", "3-5岁常住人口"),
    ("3—5岁常住人口", "3-5岁常住人口"),
    ("ＩＤ", "id"),
])
def test_normalise_header(text, key):
    assert normalise_header(text) == key


def test_header_variants_and_aliases_map_to_the_contract():
    header = "\ufeff样本编号, 测评 批次 ,区县,总体评价,乡镇(街道),权 重,办学条件\r\n"
    result = read_text(header + "R1,2026年第3季度,云溪县,满意,城关镇,1.2,一般\r\n", "utf-8-sig")
    assert list(result.frame.columns) == ["respondent_id", "wave", "county", "overall", "township", "weight", "办学条件"]
    assert result.frame.iloc[0].tolist() == ["R1", "2026年第3季度", "云溪县", "满意", "城关镇", "1.2", "一般"]


def test_metrics_header_with_a_different_dash_and_full_width_brackets():
    header = "学年,乡镇（街道）,3—5岁常住人口,在园幼儿总数,公办园在园幼儿数,普惠性民办园在园幼儿数\r\n"
    result = read_upload((header + "2025-2026学年,城关镇,100,90,50,30\r\n").encode(), "x.csv", PRESCHOOL)
    assert list(result.frame.columns) == ["year", "township", "population_3_5", "enrolled", "enrolled_public",
                                          "enrolled_inclusive_private"]


def test_blank_lines_and_multiline_cells_keep_excel_row_numbers():
    text = (HEADER.replace("\r\n", ",意见建议\r\n") + 'R001,2026年第3季度,云溪县,满意,城关镇,"第一行\r\n第二行"\r\n'
            + "\r\n" + "R002,2026年第3季度,云溪县,一般,城关镇,\r\n")
    result = read_text(text)
    # Excel: header row 1, R001 row 2 (one cell on two lines), empty row 3, R002 row 4.
    assert result.frame.index.tolist() == [2, 4]
    assert result.frame["comment"].tolist() == ["第一行\r\n第二行", ""]


def test_short_rows_are_padded_with_empty_cells():
    text = HEADER.replace("\r\n", ",意见建议\r\n") + "R001,2026年第3季度,云溪县,满意\r\nR002,2026年第3季度,云溪县,一般,城关镇,好\r\n"
    result = read_text(text)
    assert result.frame["township"].tolist() == ["", "城关镇"]
    assert result.frame["comment"].tolist() == ["", "好"]


def test_tab_separated_text():
    result = read_text((HEADER + ROWS).replace(",", "\t"))
    assert result.frame["county"].tolist() == ["云溪县", "临江区"]


def test_title_rows_in_csv_are_skipped_with_a_notice():
    result = read_text("青岚市群众满意度调查（2026年第3季度）\r\n,,,,\r\n" + HEADER + ROWS)
    assert result.header_row == 3
    # Both rows above the header are counted (issue 18: "1 行标题" read as a miscount); the empty one is named.
    assert result.notices == ["已跳过表头上方的 2 行（1 行标题、1 行空行），表头在第 3 行。"]
    assert result.frame.index.tolist() == [4, 5]


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_sheet_choice_and_numeric_codes():
    data = xlsx({"说明": [["说明文字"]],
                 "问卷": [["受访者编号", "测评批次", "县区", "总体满意度", "权重"], [1001, "2026年第3季度", "云溪县", 1, 1.5],
                          [None], [1002, "2026年第3季度", "云溪县", 9, 2]]})
    assert xlsx_sheet_names(data) == ["说明", "问卷"]
    result = read_upload(data, "问卷.xlsx", KIND, sheet="问卷")
    assert result.encoding == "Excel 工作簿（.xlsx）" and result.sheet == "问卷" and result.sheets == ["说明", "问卷"]
    assert result.frame.index.tolist() == [2, 4]  # the empty Excel row 3 is skipped but not renumbered
    assert result.frame["respondent_id"].tolist() == ["1001", "1002"]
    assert result.frame["overall"].tolist() == ["1", "9"]
    assert result.frame["weight"].tolist() == ["1.5", "2"]


def test_xlsx_empty_sheet():
    data = xlsx({"空表": [[None]], "问卷": [["受访者编号"]]})
    with pytest.raises(ReadError, match="^工作表“空表”是空的，没有任何内容。$"):
        read_upload(data, "x.xlsx", KIND)


@pytest.mark.parametrize("index, letters", [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")])
def test_excel_column_letter(index, letters):
    assert excel_column_letter(index) == letters


def test_ignored_columns_are_reported():
    result = read_text(HEADER.replace("\r\n", ",身份证号,备注\r\n") + ROWS.replace("\r\n", ",1,x\r\n"))
    assert result.ignored_columns == ["身份证号", "备注"]
    assert "身份证号" not in result.frame.columns


def test_unclosed_quote_in_a_big_file_names_its_row():
    body = HEADER + 'R001,2026年第3季度,云溪县,满意,城关镇\r\nR002,2026年第3季度,"云溪县,满意,城关镇\r\n'
    body += "R003,2026年第3季度,云溪县,满意,城关镇\r\n" * 20_000  # > 128 KB swallowed into one cell
    with pytest.raises(ReadError, match="^CSV 格式错误：第 3 行有未配对的引号（从该处起的内容都被当成了一个单元格），请检查该行。$"):
        read_text(body)


@pytest.mark.parametrize("above, notice", [
    ("标题\r\n", "已跳过表头上方的 1 行标题（表头在第 2 行）。"),
    ("标题\r\n副标题\r\n", "已跳过表头上方的 2 行标题（表头在第 3 行）。"),
    ("\r\n标题\r\n,,,\r\n", "已跳过表头上方的 3 行（1 行标题、2 行空行），表头在第 4 行。"),
    ("\r\n", None),  # only a blank line above: nothing was taken for a title
])
def test_skipped_row_count_matches_the_rows_above_the_header(above, notice):
    result = read_text(above + HEADER + ROWS)
    assert result.notices == ([notice] if notice else [])
    assert result.frame.index.tolist()[0] == result.header_row + 1
