"""One chart per goal, drawn by matplotlib as SVG text to inline in the report.

Figures are built with the object API (`Figure` with an explicit SVG canvas), never pyplot:
no global backend is chosen, nothing is shared between threads of the daemon, and importing
this module is left to the report (the CLI imports it only when a report is asked for).

Readable without colour: every series also differs in line style or marker and is named in
the legend; the palette is Okabe and Ito's, which colour-blind readers can tell apart.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from html import escape

from tracker.views.chartdata import ChartData

ACTUAL = "#0072B2"  # blue
PACE = "#595959"  # grey
TARGET = "#000000"
PROJECTION = "#D55E00"  # vermillion
REVISION = "#CC79A7"  # purple
WARN = "#E69F00"  # orange

_STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, read by screen readers
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.6,
    "axes.edgecolor": "#888888",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
}
# matplotlib's rcParams are one dict per process: whatever threads draw take turns.
_LOCK = threading.Lock()
_WIDTH, _HEIGHT = 4.8, 2.9  # inches: about 345 x 209 px at the SVG's scale, near a phone's width


def render_svg(data: ChartData, *, salt: str, label: str) -> str:
    """The chart as an `<svg>` element for inlining: scalable (viewBox, no fixed size), with
    ids unique to `salt` and `label` as its accessible name. About 50 ms a chart: the daemon
    keeps what it drew, by goal and inputs (tracker.service.pages)."""
    import matplotlib  # heavy, on demand
    from matplotlib.backends.backend_svg import FigureCanvasSVG  # heavy, on demand
    from matplotlib.figure import Figure  # heavy, on demand

    with _LOCK, matplotlib.rc_context({**_STYLE, "svg.hashsalt": salt}):
        height = 1.55 if data.shape == "milestone" else _HEIGHT
        figure = Figure(figsize=(_WIDTH, height), layout="constrained")
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        _DRAW[data.shape](axes, data)
        pairs = sorted(zip(*axes.get_legend_handles_labels()), key=lambda pair: _legend_rank(pair[1]))
        if pairs:
            handles, names = zip(*pairs)
            figure.legend(handles, names, loc="outside lower center", ncols=min(len(handles), 3), frameon=False, fontsize=9)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _inline(out.getvalue(), label)


def _progress(axes, data: ChartData) -> None:  # type: ignore[no-untyped-def]
    if data.pace:
        axes.plot(*zip(*data.pace), color=PACE, linestyle="--", linewidth=1.4, label="expected pace")
    _targets(axes, data)
    if data.baseline is not None:
        axes.axhline(data.baseline, color=PACE, linestyle=":", linewidth=1, label="baseline")
    _actual_and_projection(axes, data)
    _time_axis(axes, data)
    _value_axis(axes, data, floor_zero=True)


def _running(axes, data: ChartData) -> None:  # type: ignore[no-untyped-def]
    _targets(axes, data)
    _actual_and_projection(axes, data, label="actual, to date")
    _time_axis(axes, data)
    _value_axis(axes, data, floor_zero=False)
    _least_span(axes, 0.04 if data.percent else None)


def _targets(axes, data: ChartData) -> None:  # type: ignore[no-untyped-def]
    if not data.targets:
        return
    days = [day for day, _ in data.targets] + [data.end]
    values = [value for _, value in data.targets]
    axes.stairs(values, days, color=TARGET, linestyle="-.", linewidth=1.3, baseline=None, label="target")
    late = data.start + (data.end - data.start) * 0.7
    for revision in data.revisions:
        axes.axvline(revision.effective, color=REVISION, linewidth=1, linestyle=(0, (1, 1.5)))
        right = revision.effective > late  # late in the window: write it on the left of its line
        axes.annotate(
            f"target revised\nto {_number(revision.value, data.percent)}",
            (revision.effective, revision.value),
            xytext=(-3 if right else 3, 3),
            textcoords="offset points",
            ha="right" if right else "left",
            fontsize=8.5,
            color="#5a2d4a",
        )
    if data.revisions:
        axes.plot([], [], color=REVISION, linewidth=1, linestyle=(0, (1, 1.5)), label="target revision")


def _actual_and_projection(axes, data: ChartData, label: str = "actual") -> None:  # type: ignore[no-untyped-def]
    if data.projection:
        (x0, y0), (x1, y1) = data.projection
        axes.plot([x0, x1], [y0, y1], color=PROJECTION, linestyle=":", linewidth=2, label="projection")
        axes.plot([x1], [y1], marker="D", markersize=6, markerfacecolor="white", color=PROJECTION)
    if data.actual:
        axes.plot(*zip(*data.actual), color=ACTUAL, linewidth=2.2, marker="o", markersize=3.5, label=label)
    else:
        axes.text(0.5, 0.5, "no actuals yet", transform=axes.transAxes, ha="center", va="center", color=PACE)


def _time_axis(axes, data: ChartData) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # heavy, on demand

    # a little room past the end, so the projection's end marker is not cut in half
    axes.set_xlim(data.start, data.end + (data.end - data.start) * 0.025)
    if data.start <= data.as_of <= data.end:
        axes.axvline(data.as_of, color="#9a9a9a", linewidth=0.8)
        # at the foot of the line: the target and pace lines run along the top
        axes.annotate("now", (data.as_of, 0), xycoords=("data", "axes fraction"), xytext=(3, 3),
                      textcoords="offset points", fontsize=8.5, color="#555555")
    locator = AutoDateLocator(minticks=3, maxticks=7)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))


def _value_axis(axes, data: ChartData, floor_zero: bool) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.ticker import FuncFormatter, MaxNLocator  # heavy, on demand

    axes.yaxis.set_major_locator(MaxNLocator(5))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _number(value, data.percent)))
    axes.margins(y=0.14)
    if floor_zero:
        axes.set_ylim(bottom=0)  # after the margins: this freezes the top where they put it


def _least_span(axes, span: float | None) -> None:  # type: ignore[no-untyped-def]
    """Widens a ratio's value axis to at least 4 points (or 10% of its level), so that a
    tenth of a point does not fill the chart and look like a collapse."""
    low, high = axes.get_ylim()
    middle = (low + high) / 2
    span = span if span is not None else abs(middle) * 0.10
    if high - low < span:
        axes.set_ylim(middle - span / 2, middle + span / 2)


def _instances(axes, data: ChartData) -> None:  # type: ignore[no-untyped-def]
    positions = range(len(data.bars))
    values = [bar.value or 0.0 for bar in data.bars]
    hatches = ["///" if bar.current else "" for bar in data.bars]
    past = [i for i, bar in enumerate(data.bars) if not bar.current]
    now = [i for i, bar in enumerate(data.bars) if bar.current]
    axes.bar([positions[i] for i in past], [values[i] for i in past], width=0.6, color=ACTUAL, label="actual")
    axes.bar([positions[i] for i in now], [values[i] for i in now], width=0.6, color="#a6cde6",
             edgecolor=ACTUAL, hatch=[hatches[i] for i in now], label="period judged")
    targets = [(i, bar.target) for i, bar in enumerate(data.bars) if bar.target is not None]
    if targets:
        axes.hlines([t for _, t in targets], [i - 0.42 for i, _ in targets], [i + 0.42 for i, _ in targets],
                    color=TARGET, linestyle="-.", linewidth=1.6, label="target")
    if data.projected_bar is not None and now:
        axes.plot([now[0]], [data.projected_bar], linestyle="none", marker="D", markersize=6,
                  markerfacecolor="white", color=PROJECTION, label="projection")
    for i, bar in enumerate(data.bars):
        if bar.value is None:
            axes.text(i, 0, "no data", ha="center", va="bottom", fontsize=8.5, color=PACE, rotation=90)
    axes.set_xticks(list(positions), [_two_line(bar.label) for bar in data.bars])
    axes.grid(axis="x", visible=False)
    _value_axis(axes, data, floor_zero=True)


def _milestone(axes, data: ChartData) -> None:  # type: ignore[no-untyped-def]
    axes.set_ylim(0, 1)
    axes.yaxis.set_visible(False)
    axes.spines["left"].set_visible(False)
    axes.grid(False)
    if data.warn_from:
        axes.axvspan(data.warn_from, data.deadline, facecolor="#fbe3b5", edgecolor=WARN, hatch="//",
                     linewidth=0, label="deadline near")
    axes.axvline(data.deadline, color=TARGET, linestyle="-.", linewidth=1.5, label=f"deadline {data.deadline}")
    if data.happened:
        axes.plot([data.happened], [0.5], linestyle="none", marker="*", markersize=14, color=ACTUAL,
                  label=f"done {data.happened}")
    else:
        axes.text(0.02, 0.5, "not done yet", transform=axes.transAxes, va="center", color=PACE)
    _time_axis(axes, data)


_DRAW: dict[str, Callable[..., None]] = {
    "progress": _progress,
    "running": _running,
    "instances": _instances,
    "milestone": _milestone,
}


_LEGEND = ("actual", "actual, to date", "period judged", "expected pace", "baseline", "target",
           "target revision", "projection")


def _legend_rank(name: str) -> int:
    return _LEGEND.index(name) if name in _LEGEND else len(_LEGEND)


def _two_line(label: str) -> str:
    """`2026-Q1` as `Q1` over `2026`, so eight quarters fit across a phone."""
    year, _, part = label.partition("-")
    return f"{part}\n{year}" if part else year


def _number(value: float, percent: bool) -> str:
    """Compact axis numbers: 12%, 550k, 1.2M, 200bn."""
    if percent:
        return f"{value * 100:.3g}%"
    size = abs(value)
    for limit, suffix in ((1e9, "bn"), (1e6, "M")):
        if size >= limit:
            return f"{value / limit:.3g}{suffix}"
    if size >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:,.0f}" if size >= 1000 else f"{value:.3g}"


_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)
_SIZE = re.compile(r'\s(width|height)="[^"]*"')
_ID = re.compile(r'\sid="([^"]+)"')
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _inline(svg: str, label: str) -> str:
    """matplotlib's SVG document made an inline element: no XML prologue or metadata; the
    viewBox alone sizes it (CSS makes it as wide as its card); ids nobody refers to dropped,
    so several charts on a page never share one."""
    svg = _METADATA.sub("", _PROLOGUE.sub("", svg, count=1))
    head, rest = svg.split(">", 1)
    head = _SIZE.sub("", head) + f' role="img" aria-label="{escape(label)}" focusable="false"'
    svg = head + ">" + rest
    used = set(re.findall(r"#([\w.-]+)\)?", svg))
    return _ID.sub(lambda m: m.group(0) if m.group(1) in used else "", svg)
