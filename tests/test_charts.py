"""The SVG charts: scalable, accessible, and safe to put several on one page."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tracker.views.chartdata import Bar, ChartData, Revision
from tracker.views.charts import _number, render_svg

PROGRESS = ChartData(
    shape="progress", percent=False, start=date(2025, 1, 1), end=date(2026, 1, 1), as_of=date(2025, 7, 5),
    actual=((date(2025, 1, 1), 0.0), (date(2025, 7, 1), 180000.0)),
    pace=((date(2025, 1, 1), 0.0), (date(2026, 1, 1), 400000.0)),
    targets=((date(2025, 1, 1), 300000.0), (date(2025, 3, 1), 350000.0)),
    revisions=(Revision(date(2025, 3, 1), 350000.0, None),),
    projection=((date(2025, 7, 1), 180000.0), (date(2026, 1, 1), 362000.0)),
)
SHAPES = {
    "progress": PROGRESS,
    "running": ChartData(shape="running", percent=True, start=date(2026, 1, 1), end=date(2027, 1, 1),
                         as_of=date(2026, 7, 5), actual=((date(2026, 4, 1), 0.081),), targets=((date(2026, 1, 1), 0.08),)),
    "instances": ChartData(shape="instances", percent=True, start=date(2026, 7, 1), end=date(2026, 10, 1),
                           as_of=date(2026, 7, 5), bars=(Bar("2026-Q2", 0.31, 0.3, False), Bar("2026-Q3", None, 0.3, True))),
    "milestone": ChartData(shape="milestone", percent=False, start=date(2026, 7, 1), end=date(2027, 1, 1),
                           as_of=date(2026, 7, 5), deadline=date(2026, 12, 31), warn_from=date(2026, 11, 16)),
}
LEGENDS = {
    "progress": ["actual", "expected pace", "target", "target revision", "projection"],
    "running": ["actual, to date", "target"],
    "instances": ["actual", "period judged", "target"],
    "milestone": ["deadline near", "deadline 2026-12-31"],
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_is_an_inline_scalable_svg_with_a_legend_in_words(shape):
    svg = render_svg(SHAPES[shape], salt=shape, label="a chart")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    root = svg[: svg.index(">")]
    assert "viewBox=" in root and " width=" not in root and " height=" not in root
    assert 'role="img"' in root and 'aria-label="a chart"' in root
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)  # text is kept as text, not glyph paths
    for name in LEGENDS[shape]:
        assert name in texts, f"legend entry {name!r} missing from {texts}"


def test_the_label_is_escaped():
    svg = render_svg(SHAPES["running"], salt="x", label='"<b>&')
    assert 'aria-label="&quot;&lt;b&gt;&amp;"' in svg


def test_two_charts_on_one_page_share_no_id():
    first = render_svg(PROGRESS, salt="goal-a", label="a")
    second = render_svg(PROGRESS, salt="goal-b", label="b")
    ids = re.findall(r'\sid="([^"]+)"', first) + re.findall(r'\sid="([^"]+)"', second)
    assert ids, "clip paths keep their ids"
    assert len(ids) == len(set(ids))
    for svg in (first, second):  # every reference still resolves inside its own chart
        for ref in re.findall(r'#([\w.-]+)\)', svg):
            assert f'id="{ref}"' in svg


def test_the_same_chart_renders_the_same_bytes():
    assert render_svg(PROGRESS, salt="g", label="a") == render_svg(PROGRESS, salt="g", label="a")


@pytest.mark.parametrize(
    ("value", "percent", "text"),
    [
        pytest.param(0, False, "0", id="zero"),
        pytest.param(250, False, "250", id="hundreds"),
        pytest.param(1160, False, "1,160", id="thousands-in-full"),
        pytest.param(550000, False, "550k", id="thousands-short"),
        pytest.param(1.2e6, False, "1.2M", id="millions"),
        pytest.param(2e11, False, "200bn", id="billions"),
        pytest.param(-12000, False, "-12k", id="negative"),
        pytest.param(0.0815, True, "8.15%", id="percent"),
        pytest.param(0.3, True, "30%", id="whole-percent"),
    ],
)
def test_axis_numbers_are_compact(value, percent, text):
    assert _number(value, percent) == text


def test_charts_drawn_on_several_threads_at_once_match_one_drawn_alone():
    """matplotlib's settings are process-wide: the lock keeps each chart to its own, on any thread."""
    from concurrent.futures import ThreadPoolExecutor

    alone = {shape: render_svg(data, salt=shape, label=shape) for shape, data in SHAPES.items()}
    with ThreadPoolExecutor(4) as pool:
        together = dict(zip(SHAPES, pool.map(lambda item: render_svg(item[1], salt=item[0], label=item[0]), SHAPES.items())))
    assert together == alone
