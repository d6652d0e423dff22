"""Charts of run metrics as plotly figure specs (plain dicts), for the static HTML report.

Why plotly: a reader hovers a bar for its exact value and interval, hides a run by clicking its
legend entry and zooms a crowded category chart, which a static image cannot offer. The figures
are built here as plain JSON-able dicts (no plotly import, so building them costs nothing and the
output is a pure function of the metrics: a report built twice is byte-identical); the report
folder carries plotly.js copied from the installed plotly package, so nothing is fetched at view
time.

Conventions every chart follows, because each was once wrong:

- A run keeps one colour everywhere: ``colour(index)`` of its place in the report, on the index
  and on its own page alike. Measures of one run (pass@k, best@k) differ by line style, not colour.
- A 0% bar is visible: every bar carries its value as text, so a bar of height 0 still reads "0%".
- Count axes have integer ticks (``_count_axis``): "2.5 episodes" is not a thing.
- Titles are short and legends sit below the plot, so neither is clipped at 1280 px.

Everything from a run (labels, category names) is HTML-escaped before it enters a figure, since
plotly renders a small subset of HTML in text (``<b>``, ``<a href>``).

Each function returns None when there is nothing to draw; the page then says so in words.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from medagentgym.scoring.metrics import GroupMetrics

__all__ = [
    "Curve",
    "Figure",
    "PALETTE",
    "colour",
    "count_bars",
    "failure_bars",
    "latency_boxes",
    "pass_at_k_curve",
    "success_bars",
]

Figure = dict[str, Any]
# Colour-blind-safe (Okabe-Ito) without its yellow, too pale on white; run i gets PALETTE[i % len].
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
_FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif", "size": 12}
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x")


def colour(index: int) -> str:
    """The colour of the run at ``index`` (0-based) in the report, in every chart."""
    return PALETTE[index % len(PALETTE)]


def _text(value: str) -> str:
    """Untrusted text for a plotly label: HTML-escaped, so tags are shown, not rendered."""
    return html.escape(value, quote=False)


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%" if value in (0.0, 1.0) else f"{100 * value:.1f}%"


def _legend_rows(names: Sequence[str], width_px: int = 520) -> int:
    """About how many rows a horizontal legend of ``names`` takes in a chart ``width_px`` wide."""
    if not names:
        return 0
    per_row = max(1, int(width_px // (7 * max(len(n) for n in names) + 45)))
    return math.ceil(len(names) / per_row)


def _layout(title: str, *, height: int, legend: Sequence[dict[str, Any]] = (), **extra: Any) -> dict[str, Any]:
    """Common layout; ``legend`` holds the traces named in the legend (none: no legend). The legend
    sits in a band of its own under the plot, grown by its rows, so it never covers an axis title."""
    rows = _legend_rows([html.unescape(str(t.get("name", ""))) for t in legend])
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
        "font": _FONT,
        "height": height + 24 * rows,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50 + 24 * rows},
        "showlegend": bool(rows),
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0, "font": {"size": 11}},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "hoverlabel": {"namelength": -1},
    }
    layout.update(extra)
    return layout


def _nice_step(top: float, ticks: int = 6) -> int:
    """A whole-number tick step (1, 2, 5, 10, 20, ...) that gives about ``ticks`` ticks up to ``top``."""
    raw = max(1.0, top / ticks)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)


def _count_axis(title: str, top: float) -> dict[str, Any]:
    """An axis of counts: integer ticks from 0, a step chosen from the largest count."""
    step = _nice_step(top)
    return {
        "title": {"text": title},
        "rangemode": "tozero",
        "range": [0, max(1, math.ceil(top * 1.1))],
        "tick0": 0,
        "dtick": step,
        "tickformat": "d",
        "gridcolor": "#e5e8ee",
        "zeroline": True,
    }


def _percent_axis(title: str) -> dict[str, Any]:
    return {"title": {"text": title}, "range": [0, 1.12], "tickformat": ".0%", "dtick": 0.2, "gridcolor": "#e5e8ee"}


# A run in a chart: its label and its index in the report (which gives its colour).
Series = tuple[str, int]


def success_bars(
    series: Sequence[tuple[Series, Sequence[GroupMetrics]]], *, title: str, horizontal: bool = False
) -> Figure | None:
    """Grouped bars of success per group, one colour per run, Wilson 95% error bars, value on each bar."""
    names = sorted({g.name for _, groups in series for g in groups if g.scored})
    if not names:
        return None
    data = []
    for (label, index), groups in series:
        by_name = {g.name: g for g in groups if g.scored}
        shown = [n for n in names if n in by_name]
        if not shown:
            continue
        values = [by_name[n].success_rate for n in shown]
        errors = {
            "type": "data",
            "symmetric": False,
            "array": [max(0.0, by_name[n].ci_high - by_name[n].success_rate) for n in shown],
            "arrayminus": [max(0.0, by_name[n].success_rate - by_name[n].ci_low) for n in shown],
            "thickness": 1,
            "width": 3,
            "color": "#444444",
        }
        hover = [
            f"{_text(n)}<br>{_pct(by_name[n].success_rate)} ({by_name[n].successes}/{by_name[n].scored}), "
            f"95% CI {_pct(by_name[n].ci_low)}-{_pct(by_name[n].ci_high)}"
            for n in shown
        ]
        trace: dict[str, Any] = {
            "type": "bar",
            "name": _text(label),
            "marker": {"color": colour(index), "line": {"color": colour(index), "width": 1}},
            "text": [_pct(v) for v in values],
            "textposition": "outside",
            "cliponaxis": False,
            "hovertext": hover,
            "hoverinfo": "text",
        }
        categories = [_text(n) for n in shown]
        if horizontal:
            trace.update(orientation="h", x=values, y=categories, error_x=errors)
        else:
            trace.update(x=categories, y=values, error_y=errors)
        data.append(trace)
    legend = data if len(series) > 1 else []
    if horizontal:
        height = 120 + len(names) * max(28, 16 * len(series))
        layout = _layout(
            title,
            height=height,
            legend=legend,
            barmode="group",
            xaxis=_percent_axis("success (95% Wilson interval)"),
            yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
        )
    else:
        layout = _layout(
            title,
            height=380,
            legend=legend,
            barmode="group",
            yaxis=_percent_axis("success (95% Wilson interval)"),
            xaxis={"automargin": True, "type": "category"},
        )
    return {"data": data, "layout": layout}


# One curve: (measure name, value by k, [low, high] by k); a run's curves share its colour.
Curve = tuple[str, dict[int, float], dict[int, list[float]]]


def pass_at_k_curve(series: Sequence[tuple[Series, Sequence[Curve]]]) -> Figure | None:
    """pass@k and best@k of each selector against k with 95% intervals as error bars.

    The run gives the colour, the measure the line style and marker, so one run reads the same
    here as in every other chart.
    """
    data = []
    k_max = 1
    for (label, index), curves in series:
        for curve_index, (name, values, intervals) in enumerate(curves):
            if not values:
                continue
            ks = sorted(values)
            k_max = max(k_max, ks[-1])
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": _text(f"{label} {name}" if len(series) > 1 else name),
                    "x": ks,
                    "y": [values[k] for k in ks],
                    "line": {"color": colour(index), "dash": _DASHES[curve_index % len(_DASHES)], "width": 2},
                    "marker": {"symbol": _SYMBOLS[curve_index % len(_SYMBOLS)], "size": 7},
                    "error_y": {
                        "type": "data",
                        "symmetric": False,
                        "array": [max(0.0, intervals[k][1] - values[k]) if intervals.get(k) else 0.0 for k in ks],
                        "arrayminus": [max(0.0, values[k] - intervals[k][0]) if intervals.get(k) else 0.0 for k in ks],
                        "thickness": 1,
                        "width": 3,
                    },
                    "hovertemplate": "k=%{x}: %{y:.1%}<extra>" + _text(name) + "</extra>",
                }
            )
    if not data:
        return None
    layout = _layout(
        "pass@k and best@k by k",
        height=380,
        legend=data,
        xaxis={"title": {"text": "k (samples per task)"}, "tick0": 1, "dtick": 1, "range": [0.7, k_max + 0.3]},
        yaxis=_percent_axis("tasks solved"),
    )
    return {"data": data, "layout": layout}


def count_bars(
    series: Sequence[tuple[Series, Sequence[float]]], *, title: str, xlabel: str, integer: bool = False, bins: int = 30
) -> Figure | None:
    """Histogram of a per-episode quantity, one colour per run, bars side by side.

    Bins are computed here (integer values get one bar each, up to ``bins`` bars), so the figure
    holds counts, not every episode's value.
    """
    values = [v for _, vs in series for v in vs]
    if not values or max(values) <= 0:
        return None
    top = max(values)
    if integer:
        width = max(1, math.ceil((top + 1) / bins))
        edges = [float(e) for e in range(0, int(top) + width + 1, width)]
    else:
        width_f = top * 1.0001 / bins
        edges = [i * width_f for i in range(bins + 1)]
    data = []
    highest = 0
    for (label, index), vs in series:
        if not vs:
            continue
        counts = [0] * (len(edges) - 1)
        for v in vs:
            slot = min(len(counts) - 1, max(0, int((v - edges[0]) // (edges[1] - edges[0]))))
            counts[slot] += 1
        highest = max(highest, *counts)
        if integer and edges[1] - edges[0] == 1:
            centres: list[float] = edges[:-1]
            labels = [f"{int(e)}" for e in edges[:-1]]
        else:
            centres = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
            labels = [f"{a:.0f}-{b:.0f}" for a, b in zip(edges, edges[1:])]
        data.append(
            {
                "type": "bar",
                "name": _text(label),
                "x": centres,
                "y": counts,
                "marker": {"color": colour(index)},
                "hovertext": [f"{lab}: {c} episodes" for lab, c in zip(labels, counts)],
                "hoverinfo": "text+name",
            }
        )
    if not data:
        return None
    xaxis: dict[str, Any] = {"title": {"text": xlabel}}
    if integer:
        xaxis.update(tick0=0, dtick=_nice_step(top, 10), tickformat="d")
    layout = _layout(
        title,
        height=340,
        legend=data if len(series) > 1 else [],
        barmode="group",
        bargap=0.15,
        xaxis=xaxis,
        yaxis=_count_axis("episodes", highest),
    )
    return {"data": data, "layout": layout}


def failure_bars(series: Sequence[tuple[Series, dict[str, int]]], *, title: str) -> Figure | None:
    """Grouped horizontal bars: episodes per failure kind, one colour per run; None if no failure."""
    kinds = sorted({k for _, counts in series for k, n in counts.items() if n})
    if not kinds:
        return None
    data = []
    highest = 0
    for (label, index), counts in series:
        values = [counts.get(k, 0) for k in kinds]
        if not any(values):
            continue
        highest = max(highest, *values)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": _text(label),
                "x": values,
                "y": [_text(k) for k in kinds],
                "marker": {"color": colour(index)},
                "text": [str(v) for v in values],
                "textposition": "outside",
                "cliponaxis": False,
            }
        )
    layout = _layout(
        title,
        height=120 + len(kinds) * max(30, 16 * len(data)),
        legend=data if len(series) > 1 else [],
        barmode="group",
        xaxis=_count_axis("episodes", highest),
        yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
    )
    return {"data": data, "layout": layout}


def _quartiles(values: Sequence[float]) -> dict[str, float]:
    import numpy as np

    q = np.percentile(np.asarray(values, dtype=float), [0, 25, 50, 75, 90, 100])
    return dict(zip(("min", "q1", "median", "q3", "p90", "max"), (round(float(v), 4) for v in q)))


def latency_boxes(series: Sequence[tuple[Series, dict[str, Sequence[float]]]]) -> Figure | None:
    """Seconds per model call and per env step, a box per run (min, quartiles, max), side by side.

    ``series`` maps each run to {"model call": [...], "env step": [...]}; the boxes are drawn from
    precomputed quartiles, so the figure stays small for runs of any size.
    """
    data = []
    for (label, index), by_kind in series:
        kinds = [k for k, vs in by_kind.items() if vs]
        if not kinds:
            continue
        stats = [_quartiles(by_kind[k]) for k in kinds]
        data.append(
            {
                "type": "box",
                "name": _text(label),
                "x": kinds,
                "q1": [s["q1"] for s in stats],
                "median": [s["median"] for s in stats],
                "q3": [s["q3"] for s in stats],
                "lowerfence": [s["min"] for s in stats],
                "upperfence": [s["max"] for s in stats],
                "marker": {"color": colour(index)},
                "line": {"color": colour(index)},
                "boxpoints": False,
            }
        )
    if not data:
        return None
    layout = _layout(
        "Seconds per model call and per env step",
        height=360,
        legend=data if len(series) > 1 else [],
        boxmode="group",
        yaxis={"title": {"text": "seconds"}, "rangemode": "tozero", "gridcolor": "#e5e8ee"},
        xaxis={"type": "category"},
    )
    return {"data": data, "layout": layout}
