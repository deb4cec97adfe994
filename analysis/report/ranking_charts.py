"""Plotly figures with Chinese labels; pure functions of tables, so they are tested without a browser."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.data.waves import wave_period
from analysis.formatting import label_escape

FONT_FAMILY = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, SimHei, sans-serif"
HOME_COLOR = "#C0392B"
OTHER_COLOR = "#7F8C9A"
BAND_COLOR = "rgba(39, 174, 96, 0.12)"
STRIVE_COLOR = "#27AE60"
HOLD_COLOR = "#E67E22"


# Plotly's mode bar (zoom, download) floats in the top 32 px of a chart when the pointer or a finger is on it; the
# title starts below that band, so on a 390-px phone the bar never covers it.
MODEBAR_PX = 32
TITLE_TOP_PX = MODEBAR_PX + 4
SHORT_WAVES_AFTER = 4  # more waves than this get short tick labels ("25Q2"): six long ones already collide on a phone


# A 390-px phone shows a chart about 358 px wide: some 21 characters of the 16-px title, 28 of the 12-px subtitle.
# Plotly never wraps a title, so titles are broken into lines of that width here, on every screen.
PHONE_CHART_PX = 358
MARGIN_LEFT_PX, MARGIN_RIGHT_PX = 60, 20
PHONE_PLOT_PX = PHONE_CHART_PX - MARGIN_LEFT_PX - MARGIN_RIGHT_PX  # the plot area between the margins
TITLE_UNITS, SUBTITLE_UNITS = 21, 28
TITLE_LINE_PX, SUBTITLE_LINE_PX = 21, 16
PANEL_TITLE_PX, PANEL_LINE_PX = 12, 15  # small-multiple panel titles (analysis.report.insight_charts.panel_grid)
SUBTITLE_COLOR = "#5D6D7E"
_CLOSING = frozenset("）)】」』，。、；：！？%")
_TITLE_TOKEN = re.compile(r"&#?\w+;|[A-Za-z0-9.%+\-]+|.", re.S)  # entities and Latin words/numbers are never split


def _units(token: str) -> float:
    """Display width in CJK characters: an entity is one character, Latin characters about half a CJK one."""
    if token.startswith("&") and token.endswith(";"):
        return 1.0
    return sum(1.0 if ord(ch) > 0x2E7F else 0.55 for ch in token)


def wrapped_lines(text: str, units: float) -> list[str]:
    """Text broken into lines no wider than `units` CJK characters (a longer single token keeps a line of its own)."""
    lines, line, width = [], "", 0.0
    for token in _TITLE_TOKEN.findall(text):
        size = _units(token)
        # A closing mark never starts a line (a lone "）" under "覆盖率（%" reads as a typo): it overhangs instead.
        if line and width + size > units and token not in _CLOSING:
            lines.append(line)
            line, width = "", 0.0
        line, width = line + token, width + size
    return lines + [line] if line else lines


def chart_title(title: str) -> tuple[str, int]:
    """A chart title as plotly text, a trailing （…） note (or, in a long title, what follows its colon) set below it
    as a smaller grey subtitle, both wrapped to a phone's width; and the pixels it takes beyond one title line."""
    head, note = title, ""
    if title.endswith("）") and title.rfind("（") > 0:
        cut = title.rfind("（")
        head, note = title[:cut], title[cut + 1:-1]
    if _units(head) > TITLE_UNITS and "：" in head:  # "漏斗图：落在控制限外…": what follows the colon explains the chart
        head, rest = head.split("：", 1)
        note = f"{rest}；{note}" if note else rest
    head_lines, note_lines = wrapped_lines(head, TITLE_UNITS), wrapped_lines(note, SUBTITLE_UNITS)
    text = "<br>".join(head_lines)
    if note_lines:
        text += "<br>" + "<br>".join(f'<span style="font-size:12px;font-weight:normal;color:{SUBTITLE_COLOR}">{line}</span>' for line in note_lines)
    return text, TITLE_LINE_PX * (len(head_lines) - 1) + SUBTITLE_LINE_PX * len(note_lines)


def phone_panel_units(width: float) -> float:
    """How many CJK characters of a panel title fit over a panel `width` (a fraction of the plot) on a phone."""
    return width * PHONE_PLOT_PX / PANEL_TITLE_PX


def _top_panel_title_px(fig: go.Figure) -> int:
    """Pixels the top row's panel titles take beyond one line (they grow upwards, into the margin under the title)."""
    lines = [a.text.count("<br>") + 1 for a in fig.layout.annotations or ()
             if a.yref == "paper" and a.yanchor == "bottom" and a.y is not None and a.y >= 0.999 and a.text]
    return PANEL_LINE_PX * (max(lines) - 1) if lines else 0


def base_layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    """Common look: title below the mode bar's band, CJK font stack, white background, compact margins.

    `height` is for a one-line title; the lines a long title or the panel titles wrap into are added, so the plot
    keeps its size."""
    text, extra = chart_title(title)
    extra += _top_panel_title_px(fig)
    height += extra
    fig.update_layout(title={"text": text, "x": 0.0, "font": {"size": 16}, "yref": "container",
                             "y": 1 - TITLE_TOP_PX / height, "yanchor": "top"},
                      font={"family": FONT_FAMILY, "size": 13}, template="plotly_white", height=height,
                      margin={"l": MARGIN_LEFT_PX, "r": MARGIN_RIGHT_PX, "t": 60 + MODEBAR_PX + extra, "b": 90}, legend={"orientation": "h", "y": -0.22, "x": 0},
                      modebar={"bgcolor": "rgba(255,255,255,0.8)"})
    return fig


def short_wave_label(wave) -> str:
    """'25Q2' for 2025年第2季度, '25H1'/'25H2' for 上/下半年, '25年' for a whole year; an unrecognised label unchanged."""
    period = wave_period(wave)
    if period is None:
        return label_escape(wave)
    year, month = period
    if month == 13:
        return f"{year % 100:02d}年"
    if "半年" in str(wave):
        return f"{year % 100:02d}H{month // 6}"
    return f"{year % 100:02d}Q{month // 3}"


def wave_tick_labels(waves: pd.Series) -> list[str]:
    """Tick labels for waves: broken after the year for a few waves, short ('25Q2') when there are more than four."""
    if len(waves) > SHORT_WAVES_AFTER:
        return [short_wave_label(w) for w in waves]
    return [label_escape(w).replace("年", "年<br>", 1) for w in waves]


def rank_label_positions(ranks: list[float], published: list[float] | None = None) -> list[str]:
    """Where each rank label sits so it is on neither the line nor a marker.

    The axis is reversed (rank 1 on top), so a better neighbour lies up-screen. Centre positions would sit on the vertical
    rank-set bar, so every label goes to a corner; the corner is the first of the four that the segment to the previous
    or next wave does not pass through and the published diamond (one place up or down) does not cover.
    """
    published = published or [float("nan")] * len(ranks)
    out = []
    for i, rank in enumerate(ranks):
        busy = set()
        for j, side in ((i - 1, "left"), (i + 1, "right")):
            if 0 <= j < len(ranks) and not pd.isna(ranks[j]) and ranks[j] != rank:
                busy.add(("top" if ranks[j] < rank else "bottom") + " " + side)
        pub = published[i]
        if not pd.isna(pub) and abs(pub - rank) == 1:  # a diamond a place away would sit under a label on that side
            busy |= {f"{'top' if pub < rank else 'bottom'} {side}" for side in ("left", "right")}
        # The last wave's labels go left, away from the 争/保 line names in the right margin.
        order = ["top right", "top left", "bottom right", "bottom left"]
        if i == len(ranks) - 1 and len(ranks) > 1:
            order = ["top left", "bottom left", "top right", "bottom right"]
        out.append(next((p for p in order if p not in busy), order[0]))
    return out


def _wave_axis(fig: go.Figure, waves: pd.Series) -> None:
    # No axis title: the two-line wave labels speak for themselves and the legend sits where a title would.
    fig.update_xaxes(tickangle=0, tickmode="array", tickvals=list(waves), ticktext=wave_tick_labels(waves))


def spread_label_positions(x, y, lengths: list[int], plot_px: tuple[float, float] = (330.0, 300.0),
                           char_px: float = 13.0) -> list[str]:
    """Text positions for point labels so no two overlap, judged on a phone-sized plot (the tightest it is drawn).

    Greedy, points from the top: each label takes the first of above / below / right / left whose box (text width ×
    one line, in pixels of a `plot_px` plot) meets neither a label already placed nor another point's marker.
    """
    x, y = np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    if len(x) == 0:
        return []
    span_x = max(float(np.nanmax(x) - np.nanmin(x)), 1e-9)
    span_y = max(float(np.nanmax(y) - np.nanmin(y)), 1e-9)
    px, py = (x - np.nanmin(x)) / span_x * plot_px[0], (np.nanmax(y) - y) / span_y * plot_px[1]  # screen y grows down
    line, marker = char_px + 4, 8.0

    def box(k: int, where: str) -> tuple[float, float, float, float]:
        w = lengths[k] * char_px
        if where == "top center":
            return px[k] - w / 2, py[k] - marker - line, px[k] + w / 2, py[k] - marker
        if where == "bottom center":
            return px[k] - w / 2, py[k] + marker, px[k] + w / 2, py[k] + marker + line
        if where == "middle right":
            return px[k] + marker, py[k] - line / 2, px[k] + marker + w, py[k] + line / 2
        return px[k] - marker - w, py[k] - line / 2, px[k] - marker, py[k] + line / 2

    def meets(a, b) -> bool:
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    markers = [(px[k] - marker, py[k] - marker, px[k] + marker, py[k] + marker) for k in range(len(x))]
    placed: list[tuple] = []
    out = ["top center"] * len(x)
    for k in np.argsort(py, kind="stable"):
        for where in ("top center", "bottom center", "middle right", "middle left"):
            b = box(k, where)
            if not any(meets(b, p) for p in placed) and not any(meets(b, m) for j, m in enumerate(markers) if j != k):
                out[k] = where
                break
        placed.append(box(k, out[k]))
    return out


def rank_trend_figure(trend: pd.DataFrame, n_counties: int, hold: int, strive: int) -> go.Figure:
    """Rank per wave with its 95% rank set, the published rank, and the 保六争五 band shaded."""
    fig = go.Figure()
    fig.add_hrect(y0=0.5, y1=hold + 0.5, fillcolor=BAND_COLOR, line_width=0, layer="below")
    for y, color, label in ((strive + 0.5, STRIVE_COLOR, f"争{strive}线"), (hold + 0.5, HOLD_COLOR, f"保{hold}线")):
        fig.add_hline(y=y, line={"color": color, "dash": "dash"})
        # Labels sit in the right margin so they never cover the latest wave's marker.
        fig.add_annotation(x=1.01, xref="paper", y=y, text=label, showarrow=False, xanchor="left", font={"color": color})
    ranks = [float(r) for r in trend["rank"]]
    published = [float(r) if pd.notna(r) else np.nan for r in trend["published_rank"]] if "published_rank" in trend else None
    many = len(trend) > SHORT_WAVES_AFTER  # on a phone, "第6名" under each of many waves runs together; the axis says 名次
    fig.add_trace(go.Scatter(
        x=trend["wave"], y=trend["rank"], mode="lines+markers+text", name="调查估计名次",
        text=[f"{int(r)}" if many else f"第{int(r)}名" for r in trend["rank"]],
        textposition=rank_label_positions(ranks, published), textfont={"color": HOME_COLOR}, cliponaxis=False,
        line={"color": HOME_COLOR, "width": 3}, marker={"size": 9},
        error_y={"type": "data", "symmetric": False, "array": trend["cs_high"] - trend["rank"],
                 "arrayminus": trend["rank"] - trend["cs_low"], "color": "rgba(192,57,43,0.35)", "thickness": 2},
        hovertemplate="%{x}<br>第%{y}名<extra>调查估计（竖线：名次范围）</extra>"))
    if "published_rank" in trend and trend["published_rank"].notna().any():
        fig.add_trace(go.Scatter(x=trend["wave"], y=trend["published_rank"], mode="markers", name="市级公布名次",
                                 marker={"symbol": "diamond", "size": 11, "color": "#2C3E50"},
                                 hovertemplate="%{x}<br>市级公布：第%{y}名<extra></extra>"))
    fig.update_yaxes(autorange=False, range=[n_counties + 0.5, 0.5], dtick=1, title="名次（越靠上越好）")
    _wave_axis(fig, trend["wave"])
    fig = base_layout(fig, f"名次走势（绿色区域为保{hold}目标区，竖线为名次范围，菱形为市级通报）")
    return fig.update_layout(margin={"r": 60})


def score_trend_figure(trend: pd.DataFrame, strive: int) -> go.Figure:
    """Home score per wave with its 95% CI, against the strive-th county's score, the city mean and the published score."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=trend["wave"], y=trend["score"], mode="lines+markers", name="本县得分（调查估计）",
                             line={"color": HOME_COLOR, "width": 3},
                             error_y={"type": "data", "symmetric": False, "array": trend["ci_high"] - trend["score"],
                                      "arrayminus": trend["score"] - trend["ci_low"], "color": "rgba(192,57,43,0.35)"},
                             hovertemplate="%{x}<br>%{y:.2f} 分<extra>本县</extra>"))
    if "strive_score" in trend:
        fig.add_trace(go.Scatter(x=trend["wave"], y=trend["strive_score"], mode="lines", name=f"第{strive}名得分",
                                 line={"color": STRIVE_COLOR, "dash": "dash"},
                                 hovertemplate=f"%{{x}}<br>%{{y:.2f}} 分<extra>第{strive}名</extra>"))
    fig.add_trace(go.Scatter(x=trend["wave"], y=trend["city_mean"], mode="lines", name="全市平均",
                             line={"color": OTHER_COLOR, "dash": "dot"}, hovertemplate="%{x}<br>%{y:.2f} 分<extra>全市平均</extra>"))
    if "published_score" in trend and trend["published_score"].notna().any():
        fig.add_trace(go.Scatter(x=trend["wave"], y=trend["published_score"], mode="markers", name="市级公布得分",
                                 marker={"symbol": "diamond", "size": 10, "color": "#2C3E50"}))
    fig.update_yaxes(title="满意度得分（分）")
    _wave_axis(fig, trend["wave"])
    return base_layout(fig, "得分走势（竖线为95%置信区间）")


def caterpillar_figure(table: pd.DataFrame, home: str, strive: int, hold: int) -> go.Figure:
    """Scores with 95% intervals sorted best first; published scores as open diamonds; dashed lines at the 5th and 6th."""
    table = table.sort_values("score", ascending=False).reset_index(drop=True)
    source = table["source"] if "source" in table.columns else pd.Series("survey", index=table.index)
    fig = go.Figure()
    for kind, symbol, name in (("survey", "circle", "问卷推算（竖线为95%置信区间）"), ("published", "diamond-open", "市级公布得分")):
        part = table[source == kind]
        if part.empty:
            continue
        low, high = part["ci_low"].astype("float64"), part["ci_high"].astype("float64")
        colors = [HOME_COLOR if c == home else OTHER_COLOR for c in part["county"]]
        fig.add_trace(go.Scatter(
            x=[label_escape(c) for c in part["county"]], y=part["score"], mode="markers", name=name, showlegend=source.nunique() > 1,
            marker={"size": 12, "color": colors, "symbol": symbol, "line": {"width": 2, "color": colors}},
            error_y={"type": "data", "symmetric": False, "array": (high - part["score"]).fillna(0),
                     "arrayminus": (part["score"] - low).fillna(0), "thickness": 2, "color": "#34495E"},
            customdata=np.column_stack([low, high]),
            hovertemplate="%{x}<br>%{y:.2f} 分（区间 %{customdata[0]:.2f}–%{customdata[1]:.2f}）<extra></extra>"))
    fig.update_xaxes(categoryorder="array", categoryarray=[label_escape(c) for c in table["county"]])
    for k, color, where in ((strive, STRIVE_COLOR, "top right"), (hold, HOLD_COLOR, "bottom right")):
        if k <= len(table):
            fig.add_hline(y=float(table.loc[k - 1, "score"]), line={"color": color, "dash": "dash"},
                          annotation_text=f"第{k}名 {table.loc[k - 1, 'score']:.2f}", annotation_position=where)
    fig.update_yaxes(title="满意度得分（分）")
    return base_layout(fig, "得分与95%区间（按得分排序，红色为本县）", height=420)


def place_heatmap_figure(probs: pd.DataFrame, home: str) -> go.Figure:
    """County × place probabilities as a heatmap, home row labelled."""
    labels = [label_escape(f"★{c}" if c == home else c) for c in probs.index]
    text = np.where(probs.to_numpy() >= 0.005, (probs.to_numpy() * 100).round(0).astype(int).astype(str) + "%", "")
    fig = go.Figure(go.Heatmap(z=probs.to_numpy(), x=list(probs.columns), y=labels, colorscale="Reds", zmin=0, zmax=1,
                               text=text, texttemplate="%{text}", colorbar={"title": "概率", "tickformat": ".0%"},
                               hovertemplate="%{y} 位列%{x}的概率：%{z:.1%}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, "名次概率（每行：该县区落在各名次的概率）", height=460)


def funnel_figure(points: pd.DataFrame, curves: pd.DataFrame, target: float, home: str) -> go.Figure:
    """Spiegelhalter funnel: score against precision with 95% and 99.8% limits around the city mean."""
    fig = go.Figure()
    for lo, hi, name, dash in (("lo95", "hi95", "95%控制限", "dash"), ("lo998", "hi998", "99.8%控制限", "dot")):
        fig.add_trace(go.Scatter(x=curves["precision"], y=curves[hi], mode="lines", name=name, line={"color": OTHER_COLOR, "dash": dash}))
        fig.add_trace(go.Scatter(x=curves["precision"], y=curves[lo], mode="lines", showlegend=False, line={"color": OTHER_COLOR, "dash": dash}))
    fig.add_hline(y=target, line={"color": "#2C3E50"}, annotation_text=f"全市平均 {target:.2f}")
    colors = [HOME_COLOR if c == home else "#2980B9" for c in points["county"]]
    precision = (1 / points["se"]).to_numpy(dtype="float64")
    fig.add_trace(go.Scatter(x=1 / points["se"], y=points["score"], mode="markers+text", text=[label_escape(c) for c in points["county"]],
                             textposition=spread_label_positions(precision, points["score"].to_numpy(dtype="float64"),
                                                                 [len(str(c)) for c in points["county"]]), marker={"size": 11, "color": colors}, name="县区",
                             hovertemplate="%{text}<br>得分 %{y:.2f}<br>精度 1/SE = %{x:.2f}<extra></extra>"))
    fig.update_xaxes(title="精度（1/标准误，样本越大越靠右）")
    fig.update_yaxes(title="满意度得分（分）")
    return base_layout(fig, "漏斗图：落在控制限外的县区才是真正偏离全市平均", height=440)
