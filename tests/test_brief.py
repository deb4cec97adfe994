"""汇报材料: the .docx opens and says the rank, carries the charts (or says why not); the workbook round-trips."""

import io
import zipfile

import kaleido
import pandas as pd
import plotly.graph_objects as go
import pytest
from docx import Document

from analysis import brief
from analysis.brief import BriefInputs, brief_docx, charts_zip
from analysis.formatting import xlsx_bytes


@pytest.fixture(scope="module", autouse=True)
def export_server():
    """One Chromium for all exports in this module, as the app keeps one per process."""
    if not brief.chromium_available():
        yield
        return
    kaleido.start_sync_server(silence_warnings=True)
    yield
    kaleido.stop_sync_server(silence_warnings=True)


def inputs(with_figures=True):
    fig = go.Figure(go.Bar(x=["云溪县", "临江区"], y=[85.8, 90.6]))
    return BriefInputs(
        city="青岚市", home="云溪县", wave="2026年第3季度", total=11, hold=6, strive=5, rank=6, rank_low=3, rank_high=10,
        score=85.8, ci_low=84.0, ci_high=87.6, n=421, p_hold=0.81, p_strive=0.573,
        margin_lines=["对照第5名，距第5名差 0.14 分，需约 2 名受访者由“一般”转为“满意”"],
        weakest_items=pd.DataFrame({"item": ["有偿补课治理", "大班额治理", "课后服务"], "score": [70.1, 72.3, 74.0]}),
        weakest_townships=pd.DataFrame({"township": ["东坝镇", "城关镇", "马鞍镇"], "score": [80.0, 82.0, 83.0], "n": [50, 80, 40]}),
        scenario_lines=["农村 的 课后服务 一般→满意 10%"],
        scenario_result={"score": 86.1, "rank": 5, "p_rank_le_5": 0.61, "p_rank_le_6": 0.85},
        figures={"名次走势": fig, "得分走势": fig} if with_figures else {})


def text_of(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


@pytest.mark.skipif(not brief.chromium_available(), reason="Chromium is not installed here (CI installs it)")
def test_docx_has_rank_probabilities_and_charts():
    data, note = brief_docx(inputs())
    doc = Document(io.BytesIO(data))
    text = text_of(data)
    assert note is None
    assert "关于云溪县2026年第3季度群众满意度测评情况的汇报" in text
    assert "第6名" in text and "保6概率 81.0%" in text and "争5概率 57.3%" in text
    assert "有偿补课治理（70.10 分）" in text and "东坝镇" in text and "农村 的 课后服务 一般→满意 10%" in text
    assert len(doc.inline_shapes) == 2
    assert any(p.text.startswith("一、") for p in doc.paragraphs) and any(p.text.startswith("四、") for p in doc.paragraphs)
    heading = next(p for p in doc.paragraphs if p.text.startswith("一、"))
    assert heading.runs[0]._element.rPr.rFonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "黑体"


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
