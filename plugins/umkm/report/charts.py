"""Plotly figures for the report, one function per panel (HTML fragments, no JS inlined)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

Rows = list[dict[str, Any]]

COLOURS = {"up": "#2a9d8f", "down": "#e76f51", "total": "#264653", "accent": "#e9c46a"}
LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
    "font": {"family": "system-ui, sans-serif", "size": 13},
}


def _html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(**LAYOUT)
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displayModeBar": False, "responsive": True},
    )


def bridge_waterfall(rows: Rows) -> str:
    measure = []
    for r in rows:
        if r["step_order"] == 1:
            measure.append("absolute")
        elif r["step_order"] == len(rows):
            measure.append("total")
        else:
            measure.append("relative")
    fig = go.Figure(
        go.Waterfall(
            x=[r["step_id"] for r in rows],
            y=[r["value"] for r in rows],
            measure=measure,
            text=[
                f"{r['value']:+,}" if m == "relative" else f"{r['value']:,}"
                for r, m in zip(rows, measure, strict=True)
            ],
            textposition="outside",
            hovertext=[r["description"] for r in rows],
            increasing={"marker": {"color": COLOURS["up"]}},
            decreasing={"marker": {"color": COLOURS["down"]}},
            totals={"marker": {"color": COLOURS["total"]}},
            connector={"line": {"color": "#999"}},
        )
    )
    fig.update_layout(title="From Kominfo's figure to Kemenkop's, step by step", height=520)
    fig.update_xaxes(tickangle=-30)
    return _html(fig, "bridge-chart")


def bars(rows: Rows, x: str, y: str, title: str, div_id: str, horizontal: bool = False) -> str:
    xs, ys = [r[x] for r in rows], [r[y] for r in rows]
    if horizontal:
        bar = go.Bar(x=ys[::-1], y=[str(v) for v in xs][::-1], orientation="h")
        height = max(360, 22 * len(rows) + 120)
    else:
        bar = go.Bar(x=[str(v) for v in xs], y=ys)
        height = 380
    bar.marker.color = COLOURS["total"]
    fig = go.Figure(bar)
    fig.update_layout(title=title, height=height)
    return _html(fig, div_id)


def overlap_heatmap(rows: Rows) -> str:
    names = sorted({r["platform_a"] for r in rows} | {r["platform_b"] for r in rows})
    index = {n: i for i, n in enumerate(names)}
    z = [[0] * len(names) for _ in names]
    for r in rows:
        i, j = index[r["platform_a"]], index[r["platform_b"]]
        z[i][j] = z[j][i] = r["businesses"]
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, colorscale="Teal", texttemplate="%{z:,}"))
    fig.update_layout(title="Businesses on both platforms", height=480)
    return _html(fig, "overlap-chart")


def progress(rows: Rows) -> str:
    xs = [str(r["snapshot"]) for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=xs, y=[r["online_umkm"] for r in rows], name="online UMKM (warehouse)")
    fig.add_scatter(
        x=xs, y=[r["active_online_umkm"] for r in rows], name="active online UMKM (warehouse)"
    )
    fig.add_scatter(
        x=xs, y=[r["kominfo_published"] for r in rows], name="Kominfo published", mode="markers"
    )
    fig.add_scatter(
        x=xs,
        y=[r["target"] for r in rows],
        name="target (8 million, scaled)",
        line={"dash": "dash", "color": COLOURS["down"]},
    )
    fig.update_layout(title="Progress toward the 2019 target", height=420)
    return _html(fig, "progress-chart")


def population(rows: Rows) -> str:
    fig = go.Figure(
        go.Bar(
            x=[r["method"] for r in rows],
            y=[r["estimate"] for r in rows],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [(r["ci_high"] or r["estimate"]) - r["estimate"] for r in rows],
                "arrayminus": [r["estimate"] - (r["ci_low"] or r["estimate"]) for r in rows],
            },
            marker={"color": COLOURS["accent"]},
        )
    )
    fig.update_layout(title="Online UMKM: seen on a list, and estimated in all", height=380)
    return _html(fig, "population-chart")
