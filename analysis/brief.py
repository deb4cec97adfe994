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
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from analysis.formatting import fmt_pct, fmt_rank, fmt_rank_set, fmt_score

BODY_FONT = "宋体"
HEADING_FONT = "黑体"
CHROMIUM_PATHS = ("chromium", "chromium-browser", "google-chrome", "chrome")
SECTION_NUMBERS = ("一", "二", "三", "四", "五", "六")


@dataclass
class BriefInputs:
    """Everything the brief says, already computed by the analysis functions."""

    city: str
    home: str
    wave: str
    total: int
    hold: int
    strive: int
    rank: int
    rank_low: int
    rank_high: int
    score: float
    ci_low: float
    ci_high: float
    n: int
    p_hold: float
    p_strive: float
    margin_lines: list[str]
    weakest_items: pd.DataFrame  # columns: item, score
    weakest_townships: pd.DataFrame  # columns: township, score, n
    scenario_lines: list[str] = field(default_factory=list)
    scenario_result: dict | None = None
    figures: dict[str, go.Figure] = field(default_factory=dict)


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


def _set_font(run, name: str, size: float, bold: bool = False) -> None:
    """Set Latin and East-Asian font names so Word uses 宋体/黑体 for Chinese text."""
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _paragraph(doc: Document, text: str, size: float = 14, font: str = BODY_FONT, bold: bool = False,
               align=None, indent: bool = True) -> None:
    para = doc.add_paragraph()
    if align is not None:
        para.alignment = align
    if indent:
        para.paragraph_format.first_line_indent = Pt(size * 2)
    para.paragraph_format.line_spacing = 1.5
    _set_font(para.add_run(text), font, size, bold)


def _heading(doc: Document, number: int, text: str) -> None:
    _paragraph(doc, f"{SECTION_NUMBERS[number]}、{text}", size=16, font=HEADING_FONT, indent=False)


def brief_docx(inputs: BriefInputs) -> tuple[bytes, str | None]:
    """The brief as a Word document laid out like a government briefing, and why images are missing (if they are)."""
    images, image_note = figures_png(inputs.figures)
    doc = Document()
    for section in doc.sections:
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    _paragraph(doc, f"关于{inputs.home}{inputs.wave}群众满意度测评情况的汇报", size=22, font=HEADING_FONT,
               align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    _paragraph(doc, f"（{inputs.city}  {inputs.wave}）", size=14, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)

    _heading(doc, 0, "总体情况")
    _paragraph(doc, f"{inputs.wave}，{inputs.home}教育群众满意度得分 {fmt_score(inputs.score)} 分"
                    f"（95%置信区间 {fmt_score(inputs.ci_low)}–{fmt_score(inputs.ci_high)}），"
                    f"在全市 {inputs.total} 个县区中位列{fmt_rank(inputs.rank)}，"
                    f"考虑抽样误差，名次的95%置信集为{fmt_rank_set(inputs.rank_low, inputs.rank_high)}（样本 {inputs.n} 份）。")
    _paragraph(doc, f"按今年“保{inputs.hold}争{inputs.strive}”目标测算：保{inputs.hold}概率 {fmt_pct(inputs.p_hold)}，"
                    f"争{inputs.strive}概率 {fmt_pct(inputs.p_strive)}。" + "".join(f"{line}。" for line in inputs.margin_lines))

    _heading(doc, 1, "排名与走势")
    if images:
        for name, png in images.items():
            doc.add_picture(io.BytesIO(png), width=Cm(15.5))
            _paragraph(doc, name, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    else:
        _paragraph(doc, image_note or "本材料未附图表。", size=12)

    _heading(doc, 2, "主要短板")
    _paragraph(doc, "得分最低的三个分项：" + "、".join(
        f"{r.item}（{fmt_score(r.score)} 分）" for r in inputs.weakest_items.head(3).itertuples()) + "。")
    _paragraph(doc, "得分最低的三个乡镇（街道）：" + "、".join(
        f"{r.township}（{fmt_score(r.score)} 分，样本 {int(r.n)} 份）" for r in inputs.weakest_townships.head(3).itertuples()) + "。")

    _heading(doc, 3, "目标推演与工作建议")
    if inputs.scenario_lines and inputs.scenario_result:
        res = inputs.scenario_result
        _paragraph(doc, "拟定方案：" + "；".join(inputs.scenario_lines) + "。")
        _paragraph(doc, f"按此方案推演，总体得分预计 {fmt_score(res['score'])} 分、位列{fmt_rank(res['rank'])}，"
                        f"保{inputs.hold}概率 {fmt_pct(res[f'p_rank_le_{inputs.hold}'])}，争{inputs.strive}概率 {fmt_pct(res[f'p_rank_le_{inputs.strive}'])}。")
    else:
        _paragraph(doc, "尚未在“目标推演”页选定方案。")
    _paragraph(doc, "建议围绕上述短板，落实办学规范大落实、突出问题大整改、教师全员大家访，动态更新问题台账，逐项销号。")
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
