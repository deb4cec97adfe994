"""汇报材料: the leadership brief as Word (.docx), charts as PNG (kaleido + system Chromium), tables as one workbook."""

from __future__ import annotations

import io
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from analysis.formatting import fmt_score
from analysis.report.headline import Headline
from analysis.report.wording import chance_words

# Fonts and sizes of official documents (GB/T 9704): named, not embedded, so Word/WPS on the bureau's PC renders them.
TITLE_FONT = "方正小标宋简体"  # Word substitutes a 宋体 when the PC lacks it
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
BODY_FONT = "仿宋_GB2312"
LATIN_FONT = "Times New Roman"
SIZE_2, SIZE_3, SIZE_4, SIZE_SMALL_4 = 22, 16, 14, 12  # 二号, 三号, 四号, 小四 in points
LINE_PT = 28  # fixed line spacing
CHROMIUM_PATHS = ("chromium", "chromium-browser", "google-chrome", "chrome")
SECTION_NUMBERS = ("一", "二", "三", "四", "五", "六")


@dataclass
class BriefInputs:
    """Everything the brief says, already computed and worded by the analysis functions (the same as the pages)."""

    city: str
    bureau: str
    date_text: str  # 落款日期, e.g. 2026年11月29日
    home: str
    wave: str
    hold: int
    strive: int
    headline: Headline  # official rank first, conclusion, neighbours, change: the overview's first screen
    p_hold: float
    p_strive: float
    weakest_items: pd.DataFrame  # columns: item, score
    weakest_townships: pd.DataFrame  # columns: township, score, n
    fix_item: str | None = None  # the item 分项指标 says to fix first
    basis_sentence: str = ""  # what the rank rests on: every county's survey, the published table, or a forecast
    scenario_lines: list[str] = field(default_factory=list)  # only when a plan was chosen or saved
    scenario_result: dict | None = None
    figures: dict[str, go.Figure] = field(default_factory=dict)  # title → figure, numbered 图1… in this order
    figure_notes: dict[str, str] = field(default_factory=dict)  # title → one sentence saying what it shows
    extra_sections: list[tuple[str, list[str]]] = field(default_factory=list)  # (heading, paragraphs) before the plan


def chromium_available() -> bool:
    """True when a Chromium or Chrome binary is on PATH (kaleido 1.x needs one to draw PNGs)."""
    return any(shutil.which(name) for name in CHROMIUM_PATHS)


def figure_png(fig: go.Figure, width: int = 1000, height: int = 480) -> bytes:
    """A chart as PNG through kaleido and the system Chromium."""
    with warnings.catch_warnings():
        # plotly passes per-call options that a running kaleido server ignores, and says so every time.
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        return fig.to_image(format="png", width=width, height=height, scale=2)


def figures_png(figures: dict[str, go.Figure]) -> tuple[dict[str, bytes], str | None]:
    """Every chart as PNG, or no images and the reason (in Chinese) when Chromium is missing or fails."""
    if not figures:
        return {}, None
    if not chromium_available():
        return {}, "本机未安装 Chromium 浏览器，图表无法导出为图片（安装：apt-get install chromium fonts-noto-cjk）。"
    try:
        return {name: figure_png(fig) for name, fig in figures.items()}, None
    except Exception as exc:  # kaleido reports browser failures with many exception types
        return {}, f"图表导出失败（{type(exc).__name__}），材料中未附图表。"


def _set_font(run, east_asian: str, size: float, bold: bool = False, latin: str = LATIN_FONT) -> None:
    """Name the East-Asian font (what Word/WPS uses for Chinese) and the Latin one; the server need not have them."""
    run.font.name = latin
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)


def _paragraph(doc: Document, text: str, font: str = BODY_FONT, size: float = SIZE_3, bold: bool = False,
               align=None, indent: bool = True):
    """One paragraph at the fixed 28-pt line spacing of official documents, first line indented two characters."""
    para = doc.add_paragraph()
    if align is not None:
        para.alignment = align
    if indent:
        para.paragraph_format.first_line_indent = Pt(size * 2)
    para.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    para.paragraph_format.line_spacing = Pt(LINE_PT)
    para.paragraph_format.space_before = para.paragraph_format.space_after = Pt(0)
    _set_font(para.add_run(text), font, size, bold)
    return para


def _heading(doc: Document, number: int, text: str) -> None:
    _paragraph(doc, f"{SECTION_NUMBERS[number]}、{text}", font=HEADING_FONT)


def _subheading(doc: Document, number: int, text: str) -> None:
    _paragraph(doc, f"（{SECTION_NUMBERS[number]}）{text}", font=SUBHEADING_FONT)


def _page_numbers(section) -> None:
    """'— 1 —' centred in the footer, 宋体 四号, as official documents number their pages."""
    para = section.footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_font(para.add_run("— "), "宋体", SIZE_4)
    run = para.add_run()
    _set_font(run, "宋体", SIZE_4)
    for tag, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if tag:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), tag)
        else:
            element = OxmlElement("w:instrText" if text.strip() == "PAGE" else "w:t")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._element.append(element)
    _set_font(para.add_run(" —"), "宋体", SIZE_4)


def _figure(doc: Document, number: int, title: str, png: bytes, note: str) -> None:
    doc.add_picture(io.BytesIO(png), width=Cm(15.5))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(doc, f"图{number}  {title}", font=HEADING_FONT, size=SIZE_SMALL_4, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    if note:
        _paragraph(doc, note)


def brief_docx(inputs: BriefInputs) -> tuple[bytes, str | None]:
    """The brief as an A4 Word document in the layout of an official report (公文), and why images are missing."""
    images, image_note = figures_png(inputs.figures)
    doc = Document()
    for section in doc.sections:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
        _page_numbers(section)
    h = inputs.headline
    _paragraph(doc, f"关于{inputs.home}{inputs.wave}教育群众满意度测评情况的汇报", font=TITLE_FONT, size=SIZE_2,
               align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(doc, "", indent=False)

    _heading(doc, 0, "总体情况")
    standing = "；".join(filter(None, [h.official, h.estimate])) + "。"
    _paragraph(doc, f"{inputs.wave}，{standing}" + (h.why_differ or ""))
    if inputs.basis_sentence:
        _paragraph(doc, inputs.basis_sentence)
    if h.change:
        _paragraph(doc, f"与上期相比，{h.change}。")
    figures = list(images.items())
    for number, (title, png) in enumerate(figures[:2], start=1):
        _figure(doc, number, title, png, inputs.figure_notes.get(title, ""))

    _heading(doc, 1, f"“保{inputs.hold}争{inputs.strive}”目标的把握")
    _paragraph(doc, h.conclusion)
    if h.gaps:
        _paragraph(doc, "与相邻县区比较：" + "；".join(h.gaps) + "。")
    for number, (title, png) in enumerate(figures[2:], start=3):
        _figure(doc, number, title, png, inputs.figure_notes.get(title, ""))
    if not images:
        _paragraph(doc, image_note or "本材料未附图表。")

    _heading(doc, 2, "主要短板")
    if inputs.fix_item:
        _subheading(doc, 0, "首先要抓的分项")
        _paragraph(doc, f"综合各分项与争{inputs.strive}对照县的差距和对总体满意度的影响，首先要抓的是“{inputs.fix_item}”。")
    _subheading(doc, 1 if inputs.fix_item else 0, "得分偏低的分项和乡镇（街道）")
    _paragraph(doc, "得分最低的三个分项：" + "、".join(
        f"{r.item}（{fmt_score(r.score)} 分）" for r in inputs.weakest_items.head(3).itertuples()) + "。")
    if len(inputs.weakest_townships):
        _paragraph(doc, "得分最低的三个乡镇（街道）：" + "、".join(
            f"{r.township}（{fmt_score(r.score)} 分）" for r in inputs.weakest_townships.head(3).itertuples()) + "。")

    number = 3
    for heading, paragraphs in inputs.extra_sections:
        _heading(doc, number, heading)
        for text in paragraphs:
            _paragraph(doc, text)
        number += 1

    _heading(doc, number, "下一步工作")
    if inputs.scenario_lines and inputs.scenario_result:
        res = inputs.scenario_result
        _paragraph(doc, "拟定的提升方案：" + "；".join(inputs.scenario_lines) + "。")
        _paragraph(doc, f"按此方案推演，总体得分可达 {fmt_score(res['score'])} 分，保{inputs.hold}把握"
                        f"{chance_words(res[f'p_rank_le_{inputs.hold}'])}，冲{inputs.strive}把握{chance_words(res[f'p_rank_le_{inputs.strive}'])}。")
    focus = f"，突出抓好“{inputs.fix_item}”" if inputs.fix_item else ""
    _paragraph(doc, f"扎实开展办学规范大落实、突出问题大整改、教师全员大家访三项行动{focus}；"
                    "对民意诉求反映的问题建立台账、即知即改，逐项销号；在满意度推进会上对工作滞后的学校和乡镇进行约谈。")

    _paragraph(doc, "", indent=False)
    _paragraph(doc, inputs.bureau, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    _paragraph(doc, inputs.date_text, align=WD_ALIGN_PARAGRAPH.RIGHT, indent=False)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue(), image_note


def charts_zip(figures: dict[str, go.Figure]) -> tuple[bytes | None, str | None]:
    """Every chart as a PNG inside one zip file, or the reason there are none."""
    images, note = figures_png(figures)
    if not images:
        return None, note
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, png in images.items():
            archive.writestr(f"{name}.png", png)
    return buffer.getvalue(), None
