"""Plotly figures for the 分项指标, 群体与乡镇 and 办学指标 pages, in the look of analysis.report.ranking_charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.formatting import label_escape

from analysis.report.ranking_charts import (HOME_COLOR, OTHER_COLOR, PANEL_TITLE_PX, STRIVE_COLOR, base_layout, phone_panel_units,
                                            spread_label_positions, wrapped_lines)
from analysis.stats.drivers import (QUADRANT_FOCUS, QUADRANT_IMPROVE, QUADRANT_RED_LINE, QUADRANT_STEADY,
                                    QUADRANT_STRENGTH)
from analysis.survey.school_metrics import SizeLabels

MUTED_COLOR = "#C8CDD2"
CITY_COLOR = "#2C3E50"
GOOD_COLOR = "#2980B9"
QUADRANT_COLORS = {QUADRANT_FOCUS: HOME_COLOR, QUADRANT_STRENGTH: STRIVE_COLOR, QUADRANT_IMPROVE: "#E67E22",
                   QUADRANT_STEADY: OTHER_COLOR, QUADRANT_RED_LINE: "#8E44AD"}


def panel_width(cols: int, h_gap: float = 0.08) -> float:
    """Each panel's width, as a fraction of the plot, in a row of `cols` panels `h_gap` apart."""
    return (1 - h_gap * (cols - 1)) / cols


def panel_grid(rows: int, cols: int, titles: list[str], h_gap: float = 0.08, v_gap: float = 0.16,
               share_y: bool = False) -> tuple[go.Figure, list[tuple[str, str]]]:
    """An empty figure laid out as rows × cols panels with titles, and each panel's (x, y) axis ids.

    Built by hand rather than with plotly's make_subplots, which costs ~20 ms a
    figure in validation; these pages draw several figures per run. Each title is wrapped to its panel's width on a
    phone (a "<br>" in it starts a new line as well).
    """
    width = panel_width(cols, h_gap)
    units = phone_panel_units(width)
    height = (1 - v_gap * (rows - 1)) / rows
    layout: dict = {"annotations": []}
    axes = []
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        suffix = "" if k == 0 else str(k + 1)
        x0, y1 = c * (width + h_gap), 1 - r * (height + v_gap)
        # Rounded and clipped: float sums like 0.46 + 0.54 land a hair outside [0, 1], which plotly rejects.
        layout[f"xaxis{suffix}"] = {"domain": [round(max(x0, 0.0), 6), round(min(x0 + width, 1.0), 6)], "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"domain": [round(max(y1 - height, 0.0), 6), round(min(y1, 1.0), 6)], "anchor": f"x{suffix}"}
        if share_y and k:
            layout[f"yaxis{suffix}"].update(matches="y", showticklabels=False)
        if k < len(titles):
            text = "<br>".join(line for part in titles[k].split("<br>") for line in wrapped_lines(part, units))
            layout["annotations"].append({"text": text, "x": x0 + width / 2, "y": y1, "xref": "paper", "yref": "paper",
                                          "xanchor": "center", "yanchor": "bottom", "showarrow": False,
                                          "font": {"size": PANEL_TITLE_PX}})
        axes.append((f"x{suffix}", f"y{suffix}"))
    return go.Figure(layout=layout), axes


def _panel_line(x_axis: str, y_axis: str, value: float, vertical: bool, line: dict) -> dict:
    """A reference line across one panel (what add_hline/add_vline with row/col draw), as a layout shape."""
    if vertical:
        return {"type": "line", "xref": x_axis, "x0": value, "x1": value, "yref": f"{y_axis} domain", "y0": 0, "y1": 1, "line": line}
    return {"type": "line", "xref": f"{x_axis} domain", "x0": 0, "x1": 1, "yref": y_axis, "y0": value, "y1": value, "line": line}


def _errors(table: pd.DataFrame, value: str = "score") -> dict:
    """Asymmetric error bars from ci_low/ci_high around a value column."""
    return {"type": "data", "symmetric": False, "array": (table["ci_high"] - table[value]).to_numpy(),
            "arrayminus": (table[value] - table["ci_low"]).to_numpy(), "color": "#34495E", "thickness": 1.5}


def item_benchmark_figure(bench: pd.DataFrame, strive: int) -> go.Figure:
    """Home item scores with 95% CI against the city mean and the benchmark county, the largest shortfall on top."""
    table = bench.sort_values("gap_strive", ascending=False, na_position="first")
    strive_county = table["strive_county"].dropna().iloc[0] if table["strive_county"].notna().any() else None
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=table["city_mean"], y=table["item"], mode="markers", name="全市平均",
                             marker={"symbol": "line-ns-open", "size": 18, "color": CITY_COLOR, "line": {"width": 3}},
                             hovertemplate="%{y}<br>全市平均 %{x:.2f} 分<extra></extra>"))
    if strive_county is not None:
        fig.add_trace(go.Scatter(x=table["strive_score"], y=table["item"], mode="markers", name=f"争{strive}对照：{label_escape(strive_county)}",
                                 marker={"symbol": "diamond", "size": 11, "color": STRIVE_COLOR},
                                 hovertemplate="%{y}<br>" + label_escape(strive_county) + " %{x:.2f} 分<extra></extra>"))
    fig.add_trace(go.Scatter(x=table["score"], y=table["item"], mode="markers", name="本县（横线为95%置信区间）",
                             marker={"size": 11, "color": HOME_COLOR}, error_x=_errors(table),
                             hovertemplate="%{y}<br>本县 %{x:.2f} 分<extra></extra>"))
    low = float(np.nanmin([table["ci_low"].min(), table["city_mean"].min(), table["strive_score"].min()]))
    high = float(np.nanmax([table["ci_high"].max(), table["city_mean"].max(), table["strive_score"].max()]))
    fig.update_xaxes(range=[max(0.0, low - 2), min(100.0, high + 2)], title="满意度得分（分）")
    return base_layout(fig, f"各分项得分：本县与全市平均、争{strive}对照县（越靠上差距越大）", height=120 + 36 * len(table))


def importance_figure(drivers: pd.DataFrame) -> go.Figure:
    """Relative-weight share of each item beside its plain correlation with the overall answer."""
    table = drivers.sort_values("rescaled")
    fig, ((x1, y1), (x2, y2)) = panel_grid(1, 2, ["相对权重（%）", "相关系数"], h_gap=0.06, share_y=True)
    fig.add_trace(go.Bar(x=table["rescaled"] * 100, y=table["item"], orientation="h", marker_color=HOME_COLOR, xaxis=x1, yaxis=y1,
                         text=[f"{v * 100:.1f}%" for v in table["rescaled"]], textposition="outside", cliponaxis=False,
                         hovertemplate="%{y}<br>相对权重 %{x:.1f}%<extra></extra>", showlegend=False))
    fig.add_trace(go.Bar(x=table["corr"], y=table["item"], orientation="h", marker_color=OTHER_COLOR, xaxis=x2, yaxis=y2,
                         text=[f"{v:.2f}" for v in table["corr"]], textposition="outside", cliponaxis=False,
                         hovertemplate="%{y}<br>相关系数 %{x:.2f}<extra></extra>", showlegend=False))
    fig.update_layout(xaxis={"title": "%", "range": [0, float(table["rescaled"].max()) * 100 * 1.25]},
                      xaxis2={"title": "相关系数", "range": [min(0.0, float(table["corr"].min())), 1.0]})
    return base_layout(fig, "分项重要性：相对权重（Johnson 法）与简单相关对比", height=140 + 34 * len(table))


def ipa_figure(table: pd.DataFrame) -> go.Figure:
    """Importance–performance quadrants split at the means, each item labelled and coloured by quadrant."""
    imp, perf = table["rescaled"] * 100, table["score"]
    imp_mean, perf_mean = float(imp.mean()), float(perf.mean())
    fig = go.Figure()
    positions = pd.Series(spread_label_positions(imp.to_numpy(), perf.to_numpy(), [len(str(i)) for i in table["item"]]),
                          index=table.index)
    for quadrant, color in QUADRANT_COLORS.items():
        part = table[table["quadrant"] == quadrant]
        if part.empty:
            continue
        # 政策底线 items keep their place on the chart but are named for what they are, not for a quadrant.
        name = f"{quadrant}（大班额、有偿补课等，不论统计结果）" if quadrant == QUADRANT_RED_LINE else quadrant
        fig.add_trace(go.Scatter(x=part["rescaled"] * 100, y=part["score"], mode="markers+text", text=part["item"],
                                 textposition=positions[part.index].tolist(), name=name,
                                 marker={"size": 13, "color": color, "symbol": "diamond" if quadrant == QUADRANT_RED_LINE else "circle"},
                                 hovertemplate="%{text}<br>重要性 %{x:.1f}%<br>得分 %{y:.2f} 分<extra>" + quadrant + "</extra>"))
    fig.add_vline(x=imp_mean, line={"color": OTHER_COLOR, "dash": "dash"})
    fig.add_hline(y=perf_mean, line={"color": OTHER_COLOR, "dash": "dash"})
    # Padding keeps the corner labels clear of the items nearest the corners.
    x_lo, x_hi = -float(imp.max()) * 0.08, float(imp.max()) * 1.25
    y_lo, y_hi = float(perf.min()) - 4, float(perf.max()) + 4
    corners = {QUADRANT_FOCUS: (x_hi, y_lo, "right", "bottom"), QUADRANT_STRENGTH: (x_hi, y_hi, "right", "top"),
               QUADRANT_IMPROVE: (x_lo, y_lo, "left", "bottom"), QUADRANT_STEADY: (x_lo, y_hi, "left", "top")}
    for quadrant, (x, y, xa, ya) in corners.items():
        fig.add_annotation(x=x, y=y, text=f"<b>{quadrant}</b>", showarrow=False, xanchor=xa, yanchor=ya, opacity=0.8,
                           font={"color": QUADRANT_COLORS[quadrant], "size": 13})
    fig.update_xaxes(range=[x_lo, x_hi], title="重要性（相对权重，%）")
    fig.update_yaxes(range=[y_lo, y_hi], title="本县分项得分（分）")
    return base_layout(fig, "重要性–表现矩阵（虚线为两者的平均值）", height=480)


def fix_first_figure(gains: pd.DataFrame, strive: int) -> go.Figure:
    """Expected overall gain per item if it reached the benchmark county's level (the items that gain: ItemView.gains),
    largest on top."""
    part = gains.sort_values("expected_gain")
    colors = [QUADRANT_COLORS.get(q, OTHER_COLOR) for q in part["quadrant"]]
    fig = go.Figure(go.Bar(x=part["expected_gain"], y=part["item"], orientation="h", marker_color=colors,
                           text=[f"+{v:.2f} 分" for v in part["expected_gain"]], textposition="outside", cliponaxis=False,
                           customdata=np.column_stack([part["shortfall"], part["rescaled"] * 100]),
                           hovertemplate="%{y}<br>预计总体得分 +%{x:.2f} 分<br>差距 %{customdata[0]:.2f} 分 × 重要性 %{customdata[1]:.1f}%<extra></extra>"))
    top = float(part["expected_gain"].max()) if len(part) else 1.0
    fig.update_xaxes(range=[0, top * 1.3], title="预计总体得分提升（分）")
    return base_layout(fig, f"先改哪一项：补齐到争{strive}对照县水平，总体得分预计提升多少", height=140 + 40 * max(len(part), 1))


def topic_count_figure(counts: pd.DataFrame) -> go.Figure:
    """Number of comments per topic, most mentioned on top."""
    table = counts.sort_values("comments")
    fig = go.Figure(go.Bar(x=table["comments"], y=table["topic"], orientation="h", marker_color=GOOD_COLOR,
                           text=table["comments"], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}<br>%{x} 条<extra></extra>"))
    fig.update_xaxes(title="意见条数（条）", range=[0, max(float(table["comments"].max()), 1.0) * 1.2])
    return base_layout(fig, "意见建议按主题分类（一条意见可涉及多个主题）", height=120 + 30 * len(table))


def township_score_figure(table: pd.DataFrame, county_score: float, min_n: int, title: str) -> go.Figure:
    """Township scores with 95% CIs sorted best on top; townships below min_n greyed; the county score as a line."""
    table = table.sort_values("score")
    small = table["n"] < min_n
    colors = np.where(small, MUTED_COLOR, np.where(table["score"] < county_score, HOME_COLOR, GOOD_COLOR))
    labels = [f"{label_escape(g)}（n={n}）" for g, n in zip(table["group"], table["n"])]
    # Points, not bars: a bar would have to start at 0 to be honest, and then the differences vanish.
    fig = go.Figure(go.Scatter(x=table["score"], y=labels, mode="markers+text", marker={"size": 12, "color": colors},
                               error_x=_errors(table), text=[f"{s:.1f}" for s in table["score"]], textposition="top center",
                               hovertemplate="%{y}<br>%{x:.2f} 分<extra></extra>", showlegend=False))
    fig.add_vline(x=county_score, line={"color": CITY_COLOR, "dash": "dash"}, annotation_text=f"全县 {county_score:.1f}",
                  annotation_position="top")
    low = float(np.nanmin(table["ci_low"])) if len(table) else 0.0
    high = float(np.nanmax(table["ci_high"])) if len(table) else 100.0
    fig.update_xaxes(range=[max(0.0, low - 2), min(100.0, high + 2)], title="满意度得分（分）")
    return base_layout(fig, title, height=160 + 36 * len(table))


def group_panels_figure(table: pd.DataFrame, labels: dict[str, str], county_score: float, min_n: int, title: str) -> go.Figure:
    """Small multiples: one panel per dimension, each group's score with 95% CI, the county score dashed."""
    dims = [d for d in labels if d in set(table["dimension"])]
    cols = 3
    rows = max(1, -(-len(dims) // cols))
    fig, axes = panel_grid(rows, cols, [labels[d] for d in dims], h_gap=0.12, v_gap=0.2)
    shapes, layout = [], {}
    for k, dim in enumerate(dims):
        x_axis, y_axis = axes[k]
        part = table[table["dimension"] == dim]
        small = part["n"] < min_n
        colors = np.where(small, MUTED_COLOR, np.where(part["score"] < county_score, HOME_COLOR, GOOD_COLOR))
        fig.add_trace(go.Scatter(x=part["score"], y=[f"{label_escape(g)}（{n}）" for g, n in zip(part["group"], part["n"])], mode="markers",
                                 marker={"size": 10, "color": colors}, error_x=_errors(part), showlegend=False, xaxis=x_axis, yaxis=y_axis,
                                 hovertemplate="%{y}<br>%{x:.2f} 分<extra>" + labels[dim] + "</extra>"))
        shapes.append(_panel_line(x_axis, y_axis, county_score, True, {"color": CITY_COLOR, "dash": "dash", "width": 1}))
        layout[x_axis.replace("x", "xaxis")] = {"title": "得分（分）"}
        layout[y_axis.replace("y", "yaxis")] = {"autorange": "reversed"}
    # Unused cells of the grid keep no axes.
    for x_axis, y_axis in axes[len(dims):]:
        layout[x_axis.replace("x", "xaxis")] = {"visible": False}
        layout[y_axis.replace("y", "yaxis")] = {"visible": False}
    fig.update_layout(shapes=shapes, **layout)
    return base_layout(fig, title, height=140 + 260 * rows)


def rate_trend_figure(totals: pd.DataFrame, series: dict[str, tuple[str, float | None]], title: str) -> go.Figure:
    """Small multiples over school years: one panel per rate (in %), with its target dashed where there is one.

    Side by side when every rate's name fits over its panel on a phone, else one above the other."""
    names = list(series)
    titles = [series[c][0] + (f"<br>目标≥{series[c][1] * 100:.0f}%" if series[c][1] is not None else "") for c in names]
    # Two characters to spare: neighbouring titles that just fit still touch, and their year labels overlap.
    room = phone_panel_units(panel_width(len(names))) - 2
    side_by_side = all(len(wrapped_lines(series[c][0], room)) == 1 for c in names)
    rows, cols = (1, len(names)) if side_by_side else (len(names), 1)
    fig, axes = panel_grid(rows, cols, titles, v_gap=0.3 / max(rows - 1, 1))  # stacked: 30% of the height between panels
    shapes, layout = [], {}
    for (x_axis, y_axis), column in zip(axes, names):
        label, target = series[column]
        values = totals[column] * 100
        fig.add_trace(go.Scatter(x=totals["year"], y=values, mode="lines+markers+text", text=[f"{v:.1f}%" for v in values],
                                 textposition="top center", cliponaxis=False, line={"color": HOME_COLOR, "width": 3}, showlegend=False,
                                 xaxis=x_axis, yaxis=y_axis, hovertemplate="%{x}<br>" + label + " %{y:.1f}%<extra></extra>"))
        if target is not None:
            shapes.append(_panel_line(x_axis, y_axis, target * 100, False, {"color": STRIVE_COLOR, "dash": "dash"}))
        top = max(float(np.nanmax(values)) if len(values) else 100.0, (target or 0) * 100)
        low = min(float(np.nanmin(values)) if len(values) else 0.0, (target or 1) * 100)
        # Category axes clip the first and last labels; widen them by half a category on each side.
        layout[x_axis.replace("x", "xaxis")] = {"type": "category", "range": [-0.5, len(totals) - 0.5]}
        layout[y_axis.replace("y", "yaxis")] = {"range": [max(0.0, low - 10), top + 10], "title": "%" if x_axis == "x" or rows > 1 else None}
    fig.update_layout(shapes=shapes, **layout)
    return base_layout(fig, title, height=380 if rows == 1 else 200 + 190 * rows)


def township_rate_figure(table: pd.DataFrame, column: str, label: str, target: float | None, higher_is_better: bool = True) -> go.Figure:
    """One rate per township (in %), sorted, bars red where the target is missed, the target dashed."""
    part = table.sort_values(column, ascending=not higher_is_better)
    values = part[column] * 100
    if target is None:
        colors = np.full(len(part), GOOD_COLOR)
    else:
        missed = part[column] < target if higher_is_better else part[column] > target
        colors = np.where(missed, HOME_COLOR, GOOD_COLOR)
    # A rate that cannot be computed (no children counted) is neither met nor missed: muted, and "—" as in the table.
    colors = np.where(values.isna(), MUTED_COLOR, colors)
    text = ["—" if pd.isna(v) else f"{v:.1f}%" for v in values]
    fig = go.Figure(go.Bar(x=[label_escape(t) for t in part["township"]], y=values, marker_color=colors, text=text,
                           textposition="outside", cliponaxis=False, hovertemplate="%{x}<br>" + label + " %{y:.1f}%<extra></extra>"))
    if target is not None:
        fig.add_hline(y=target * 100, line={"color": STRIVE_COLOR, "dash": "dash"})
    fig.update_yaxes(title=f"{label}（%）", range=[0, max(float(np.nanmax(values)) if len(values) else 0.0, (target or 0) * 100) * 1.15 + 1])
    fig.update_xaxes(title="乡镇（街道）")
    bound = "≥" if higher_is_better else "≤"
    suffix = f"（绿色虚线为目标 {bound}{target * 100:.0f}%，红色为未达标）" if target is not None else ""
    return base_layout(fig, f"各乡镇{label}{suffix}", height=380)


def class_trend_figure(totals: pd.DataFrame, share_max: float, labels: SizeLabels) -> go.Figure:
    """Per school year: 大班额 and 超大班额 class counts (bars) and the share of classes at the 大班额 line or above
    (line, right axis)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=totals["year"], y=totals["large"], name=f"{labels.large}班数", marker_color="#E67E22",
                         text=totals["large"], textposition="outside"))
    fig.add_trace(go.Bar(x=totals["year"], y=totals["very_large"], name=f"{labels.very_large}班数", marker_color=HOME_COLOR,
                         text=totals["very_large"], textposition="outside"))
    share_name = labels.large_share_pct
    fig.add_trace(go.Scatter(x=totals["year"], y=totals["large_share"] * 100, name=share_name, mode="lines+markers+text",
                             text=[f"{v * 100:.1f}%" for v in totals["large_share"]], textposition="top center", yaxis="y2",
                             line={"color": CITY_COLOR, "width": 3}))
    top = max(float(totals["large_share"].max()) * 100, share_max * 100) * 1.3
    fig.update_layout(
        yaxis={"title": "班级数（个）"},
        # Explicit ticks: an overlaying axis otherwise syncs to the left axis's grid (17.13%, 12.85%, …).
        yaxis2={"title": "大班额占比（%）", "overlaying": "y", "side": "right", "range": [0, top], "ticksuffix": "%", "showgrid": False,
                "tickmode": "linear", "tick0": 0, "dtick": 5 if top >= 15 else 2 if top >= 6 else 1},
        xaxis={"title": "学年"},
        shapes=[{"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y2", "y0": share_max * 100, "y1": share_max * 100,
                 "line": {"color": STRIVE_COLOR, "dash": "dash"}}],
    )
    return base_layout(fig, f"大班额与超大班额逐年变化（绿色虚线为占比上限 {share_max * 100:.0f}%）", height=400)


def class_size_histogram(flags: pd.DataFrame, caps: dict[str, int], large_min: int, very_large_min: int) -> go.Figure:
    """Distribution of class sizes by stage, with the initial-grade caps and the 大班额 / 超大班额 lines."""
    fig = go.Figure()
    stage_colors = {"小学": GOOD_COLOR, "初中": "#8E44AD", "高中": OTHER_COLOR}
    for stage, part in flags.groupby("stage", sort=False):
        fig.add_trace(go.Histogram(x=part["students"], name=str(stage), xbins={"start": 0.5, "size": 2},
                                   marker_color=stage_colors.get(str(stage), OTHER_COLOR), opacity=0.75,
                                   hovertemplate="%{x} 人<br>%{y} 个班<extra>" + str(stage) + "</extra>"))
    lines = [(caps.get("小学"), f"小学起始年级上限 {caps.get('小学')}", GOOD_COLOR),
             (caps.get("初中"), f"初中起始年级上限 {caps.get('初中')}", "#8E44AD"),
             (large_min - 0.5, f"大班额 ≥{large_min}", "#E67E22"), (very_large_min - 0.5, f"超大班额 ≥{very_large_min}", HOME_COLOR)]
    for x, text, color in lines:
        if x is not None:
            # Named shapes go to the legend, so four labels never pile up at the top of the chart.
            fig.add_vline(x=x, line={"color": color, "dash": "dash"}, name=text, showlegend=True)
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title="班额（人）")
    fig.update_yaxes(title="班级数（个）")
    return base_layout(fig, "班额分布（按学段）", height=400)


def _padded(values: pd.Series) -> list[float]:
    """An axis range around the values with room on the right for the labels drawn beside the points."""
    lo, hi = float(np.nanmin(values)) if values.notna().any() else 0.0, float(np.nanmax(values)) if values.notna().any() else 1.0
    span = max(hi - lo, 1.0)
    return [lo - 0.08 * span, hi + 0.3 * span]


def link_figure(link: pd.DataFrame, min_n: int, measure_label: str, labels: SizeLabels) -> go.Figure:
    """Township satisfaction against the 大班额 share and against 普惠性幼儿园覆盖率 (two panels, labelled points)."""
    fig, axes = panel_grid(1, 2, [labels.large_share_pct, "普惠性幼儿园覆盖率（%）"], h_gap=0.06,
                           share_y=True)
    colors = np.where(link["n"] < min_n, MUTED_COLOR, GOOD_COLOR)
    for (x_axis, y_axis), column in zip(axes, ("large_share", "inclusive_coverage")):
        # Labels beside the points: many townships share a 0% 大班额 share, and labels above them would pile up.
        fig.add_trace(go.Scatter(x=link[column] * 100, y=link["score"], mode="markers+text", text=[label_escape(t) for t in link["township"]],
                                 textposition="middle right", marker={"size": 12, "color": colors}, showlegend=False,
                                 customdata=link["n"], xaxis=x_axis, yaxis=y_axis,
                                 hovertemplate="%{text}<br>%{x:.1f}%<br>得分 %{y:.2f}（n=%{customdata}）<extra></extra>"))
    fig.update_layout(xaxis={"title": "%", "range": _padded(link["large_share"] * 100)},
                      xaxis2={"title": "%", "range": _padded(link["inclusive_coverage"] * 100)},
                      yaxis={"title": f"{measure_label}得分（分）"})
    return base_layout(fig, f"乡镇{measure_label}与办学条件（灰点：样本不足{min_n}份）", height=460)
