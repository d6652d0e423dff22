"""Charts of run metrics as inline SVG text, for the static HTML report.

Figures are built on ``matplotlib.figure.Figure`` directly, never through pyplot, so no global
backend or figure registry is touched (the SVG canvas needs no GUI and no Agg state). Output is
deterministic: a fixed hash salt for element ids and no date in the metadata, so a report built
twice from the same runs is byte-identical. Each function returns None when there is nothing to
draw, and the page says so in words instead of showing an empty frame.

matplotlib is imported lazily: the terminal report must not pay for it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from medagentgym.scoring.metrics import GroupMetrics

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Curve",
    "PALETTE",
    "failure_bars",
    "histogram",
    "pass_at_k_curve",
    "success_bars",
]

# Colour-blind-safe (Okabe-Ito); run i gets PALETTE[i % len].
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_RC = {
    "svg.hashsalt": "medagentgym-report",
    # Text stays <text> (escaped by matplotlib's XML writer): 2-3x smaller and faster than glyph
    # paths, and a reader can search the page for a category name. Layout uses DejaVu metrics.
    "svg.fonttype": "none",
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _render(build: Callable[..., Figure | None], *args: Any, **kwargs: Any) -> str | None:
    """Build a figure under the report's rc settings (fonts, grid) and return its SVG text."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = build(*args, **kwargs)
        return None if fig is None else _svg(fig)


def _percent_axis(axis) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0))


def _success_bars(
    series: Sequence[tuple[str, Sequence[GroupMetrics]]], *, title: str, horizontal: bool = False
) -> Figure | None:
    """Grouped bars of success per group (one colour per run), with Wilson 95% error bars."""
    names = sorted({g.name for _, groups in series for g in groups})
    if not names:
        return None
    n_runs = len(series)
    width = 0.8 / n_runs
    if horizontal:
        fig = _figure(9.0, max(2.0, 0.6 + len(names) * max(0.26, 0.13 * n_runs)))
    else:
        fig = _figure(max(5.0, min(12.0, 1.0 + len(names) * (0.4 + 0.25 * n_runs))), 3.6)
    ax = fig.add_subplot()
    for index, (label, groups) in enumerate(series):
        by_name = {g.name: g for g in groups if g.scored}
        positions, values, low, high = [], [], [], []
        for position, name in enumerate(names):
            group = by_name.get(name)
            if group is None:
                continue
            positions.append(position - 0.4 + width * (index + 0.5))
            values.append(group.success_rate)
            low.append(max(0.0, group.success_rate - group.ci_low))
            high.append(max(0.0, group.ci_high - group.success_rate))
        style = {"color": _colour(index), "label": label, "error_kw": {"elinewidth": 0.8, "capsize": 2}}
        if horizontal:
            ax.barh(positions, values, height=width, xerr=[low, high], **style)
        else:
            ax.bar(positions, values, width=width, yerr=[low, high], **style)
    ticks = list(range(len(names)))
    if horizontal:
        ax.set_yticks(ticks, names)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_xlim(0, 1.0)
        _percent_axis(ax.xaxis)
        ax.set_xlabel("success (95% Wilson interval)")
    else:
        ax.set_xticks(ticks, names, rotation=30 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
        ax.set_ylim(0, 1.05)
        _percent_axis(ax.yaxis)
        ax.set_ylabel("success (95% Wilson interval)")
    ax.set_title(title)
    if n_runs > 1:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


# One curve: (measure name, value by k, [low, high] by k); a run's curves share its colour.
Curve = tuple[str, dict[int, float], dict[int, list[float]]]
_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))


def _pass_at_k_curve(series: Sequence[tuple[str, Sequence[Curve]]]) -> Figure | None:
    """pass@k and best@k of each selector against k, with shaded 95% intervals.

    One run: one colour per measure (pass@k, then each selector), as in the original paper's
    inference-time scaling figure. Several runs: one colour per run, one line style per measure.
    """
    if not any(values for _, curves in series for _, values, _ in curves):
        return None
    fig = _figure(7.0, 3.8)
    ax = fig.add_subplot()
    k_max = 1
    single = len(series) == 1
    for run_index, (label, curves) in enumerate(series):
        for curve_index, (name, values, intervals) in enumerate(curves):
            if not values:
                continue
            ks = sorted(values)
            k_max = max(k_max, ks[-1])
            colour = _colour(curve_index if single else run_index)
            line, marker = _STYLES[curve_index % len(_STYLES)]
            ax.plot(
                ks,
                [values[k] for k in ks],
                marker=marker,
                markersize=4,
                linestyle=line,
                color=colour,
                label=name if single else f"{label} {name}",
            )
            shaded = [k for k in ks if intervals.get(k)]
            if shaded:
                ax.fill_between(
                    shaded,
                    [intervals[k][0] for k in shaded],
                    [intervals[k][1] for k in shaded],
                    color=colour,
                    alpha=0.12,
                    linewidth=0,
                )
    ax.set_xlabel("k (samples per task)")
    ax.set_ylabel("tasks solved (95% bootstrap interval)")
    ax.set_xticks(range(1, k_max + 1))
    ax.set_xlim(0.8, k_max + 0.2)
    ax.set_ylim(0, 1.05)
    _percent_axis(ax.yaxis)
    ax.set_title("Inference-time scaling: pass@k and best@k by selector")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _histogram(
    series: Sequence[tuple[str, Sequence[float]]], *, title: str, xlabel: str, integer: bool = False
) -> Figure | None:
    values = [v for _, vs in series for v in vs]
    if not values or max(values) <= 0:
        return None
    import numpy as np

    top = max(values)
    fig = _figure(6.5, 3.2)
    ax = fig.add_subplot()
    if integer:
        # Side-by-side bars per integer value: overlaid outlines hide runs with equal counts.
        step = max(1, int(np.ceil((top + 1) / 30)))
        edges = np.arange(0, int(top) + step + 1, step)
        width = 0.8 * step / len(series)
        for index, (label, vs) in enumerate(series):
            counts, _ = np.histogram(vs, bins=edges)
            x = edges[:-1] + (step - 1) / 2 - 0.4 * step + width * (index + 0.5)
            ax.bar(x, counts, width=width, color=_colour(index), label=label)
        ax.xaxis.get_major_locator().set_params(integer=True)
    else:
        bins = np.linspace(0, top * 1.02, 31)
        for index, (label, vs) in enumerate(series):
            if vs:
                ax.hist(vs, bins=bins, histtype="step", linewidth=1.6, color=_colour(index), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("episodes")
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _failure_bars(series: Sequence[tuple[str, dict[str, int]]], *, title: str) -> Figure | None:
    """Grouped horizontal bars: episodes per failure kind, one colour per run; None if no failure."""
    kinds = sorted({k for _, counts in series for k, n in counts.items() if n})
    if not kinds:
        return None
    n_runs = len(series)
    height = 0.8 / n_runs
    fig = _figure(7.5, max(1.8, 0.7 + len(kinds) * max(0.3, 0.16 * n_runs)))
    ax = fig.add_subplot()
    for index, (label, counts) in enumerate(series):
        positions = [p - 0.4 + height * (index + 0.5) for p in range(len(kinds))]
        ax.barh(positions, [counts.get(k, 0) for k in kinds], height=height, color=_colour(index), label=label)
    ax.set_yticks(range(len(kinds)), kinds)
    ax.set_ylim(len(kinds) - 0.5, -0.5)
    ax.set_xlabel("episodes")
    ax.set_title(title)
    if n_runs > 1:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def success_bars(
    series: Sequence[tuple[str, Sequence[GroupMetrics]]], *, title: str, horizontal: bool = False
) -> str | None:
    """SVG: success per group with Wilson 95% error bars; series is (run label, groups) per run."""
    return _render(_success_bars, series, title=title, horizontal=horizontal)


def pass_at_k_curve(series: Sequence[tuple[str, Sequence[Curve]]]) -> str | None:
    """SVG: pass@k and best@k curves with intervals; series is (run label, curves) per run."""
    return _render(_pass_at_k_curve, series)


def histogram(
    series: Sequence[tuple[str, Sequence[float]]], *, title: str, xlabel: str, integer: bool = False
) -> str | None:
    """SVG: histogram of a per-episode quantity per run; None when every value is zero."""
    return _render(_histogram, series, title=title, xlabel=xlabel, integer=integer)


def failure_bars(series: Sequence[tuple[str, dict[str, int]]], *, title: str) -> str | None:
    """SVG: episodes per failure kind per run; None when nothing failed."""
    return _render(_failure_bars, series, title=title)
