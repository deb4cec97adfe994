"""汇报材料: the .docx opens and says the rank, carries the charts (or says why not); the workbook round-trips."""

import io
import zipfile

import kaleido
import pandas as pd
import plotly.graph_objects as go
import pytest
from docx import Document

from analysis.formatting import xlsx_bytes
from analysis.report import brief
from analysis.report.brief import BriefInputs, brief_docx, charts_zip
from analysis.report.headline import Headline


@pytest.fixture(scope="module", autouse=True)
def export_server():
    """One Chromium for all exports in this module, as the app keeps one per process."""
    if not brief.chromium_available():
        yield
        return
    kaleido.start_sync_server(silence_warnings=True)
    yield
    kaleido.stop_sync_server(silence_warnings=True)


HEADLINE = Headline(
    official="市级通报：第5名（85.36 分）", estimate="本局调查推算：第6名（85.80 分）",
    why_differ="两者样本不同：市级测评另行抽样，本局调查有约 ±1.8 分的抽样误差，名次相差一两位属正常。",
    conclusion="目前处在争5线内；保6把握约八成，冲5把握约六成。首先要抓的是“有偿补课治理”。", chances="保6把握约八成，冲5把握约六成",
    gaps=["距第5名北塘区差 0.14 分（约合满意率提高 0.4 个百分点）"], action="先改：有偿补课治理",
    change="名次较上期下降 2 位；得分下降 0.52 分，在抽样误差之内，不能说明真有变化")


def inputs(with_figures=True, moves=True):
    fig = go.Figure(go.Bar(x=["云溪县", "临江区"], y=[85.8, 90.6]))
    return BriefInputs(
        city="青岚市", bureau="云溪县教育和体育局", date_text="2026年11月29日", home="云溪县", wave="2026年第3季度",
        hold=6, strive=5, headline=HEADLINE, p_hold=0.81, p_strive=0.573,
        weakest_items=pd.DataFrame({"item": ["有偿补课治理", "大班额治理", "课后服务"], "score": [70.1, 72.3, 74.0]}),
        weakest_townships=pd.DataFrame({"township": ["东坝镇", "城关镇", "马鞍镇"], "score": [80.0, 82.0, 83.0], "n": [50, 80, 40]}),
        fix_item="有偿补课治理",
        scenario_lines=["农村 的 课后服务 一般→满意 10%"] if moves else [],
        scenario_result={"score": 86.1, "rank": 5, "p_rank_le_5": 0.61, "p_rank_le_6": 0.85} if moves else None,
        figures={"名次走势": fig, "得分走势": fig} if with_figures else {},
        figure_notes={"名次走势": "名次由第7名升至第6名。", "得分走势": "得分由 84.6 分升至 85.8 分。"})


def text_of(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def east_asian_font(paragraph) -> str:
    return paragraph.runs[0]._element.rPr.rFonts.get(f"{W}eastAsia")


@pytest.mark.skipif(not brief.chromium_available(), reason="Chromium is not installed here (CI installs it)")
def test_docx_is_an_official_report():
    """A4, 公文 fonts and sizes, fixed 28-pt lines, page numbers, numbered figures, 落款 and date."""
    data, note = brief_docx(inputs())
    doc = Document(io.BytesIO(data))
    text = text_of(data)
    assert note is None
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    title = doc.paragraphs[0]
    assert title.text == "关于云溪县2026年第3季度教育群众满意度测评情况的汇报"
    assert east_asian_font(title) == "方正小标宋简体" and title.runs[0].font.size.pt == 22
    heading = next(p for p in doc.paragraphs if p.text.startswith("一、"))
    assert east_asian_font(heading) == "黑体" and heading.runs[0].font.size.pt == 16
    sub = next(p for p in doc.paragraphs if p.text.startswith("（一）"))
    assert east_asian_font(sub) == "楷体_GB2312"
    body = next(p for p in doc.paragraphs if p.text.startswith("2026年第3季度，"))
    assert east_asian_font(body) == "仿宋_GB2312" and body.runs[0].font.size.pt == 16
    assert body.paragraph_format.line_spacing.pt == 28
    footer = section.footer.paragraphs[0]._element.xml
    assert "PAGE" in footer and 'w:fldCharType="begin"' in footer
    assert [p.text.split()[0] for p in doc.paragraphs if p.text.startswith("图")] == ["图1", "图2"]
    assert len(doc.inline_shapes) == 2
    assert doc.paragraphs[-2].text == "云溪县教育和体育局" and doc.paragraphs[-1].text == "2026年11月29日"
    # Same message as the overview: official rank first, chances in words, the fix-first item, no jargon.
    assert text.index("市级通报：第5名") < text.index("本局调查推算：第6名")
    assert "保6把握约八成" in text and "“有偿补课治理”" in text and "下降 2 位" in text
    for jargon in ("置信集", "概率", "落实办学规范大落实", "尚未在"):
        assert jargon not in text, jargon
    assert "拟定的提升方案：农村 的 课后服务 一般→满意 10%" in text


def test_docx_without_a_plan_has_no_plan_paragraph():
    text = text_of(brief_docx(inputs(with_figures=False, moves=False))[0])
    assert "拟定的提升方案" not in text and "扎实开展办学规范大落实、突出问题大整改、教师全员大家访" in text


def test_docx_without_chromium_still_produced_and_says_why(monkeypatch):
    monkeypatch.setattr(brief, "chromium_available", lambda: False)
    data, note = brief_docx(inputs())
    assert "未安装 Chromium" in note
    assert "未安装 Chromium" in text_of(data)
    assert len(Document(io.BytesIO(data)).inline_shapes) == 0
    archive, why = charts_zip(inputs().figures)
    assert archive is None and "未安装 Chromium" in why


@pytest.mark.skipif(not brief.chromium_available(), reason="Chromium is not installed here (CI installs it)")
def test_charts_zip_holds_pngs():
    archive, _ = charts_zip(inputs().figures)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert sorted(z.namelist()) == ["名次走势.png", "得分走势.png"]
        assert z.read("名次走势.png").startswith(b"\x89PNG")


def test_workbook_round_trips_and_is_formula_safe():
    tables = {"排名表": pd.DataFrame({"县区": ["云溪县", "=HYPERLINK(\"x\")"], "得分": [85.8, 80.0]}), "走势": pd.DataFrame({"a": [1]})}
    book = pd.read_excel(io.BytesIO(xlsx_bytes(tables)), sheet_name=None)
    assert list(book) == ["排名表", "走势"]
    assert book["排名表"]["得分"].tolist() == [85.8, 80.0]
    assert book["排名表"]["县区"].tolist() == ["云溪县", "'=HYPERLINK(\"x\")"]
