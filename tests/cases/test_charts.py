"""The daily attainment chart: well-formed SVG, described for screen readers, gaps for
days without finished targets (never a 0 % point)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from cases.charts import (
    DayAttainment,
    attainment,
    attainment_text,
    daily_attainment_svg,
    day_text,
)

SVG = "{http://www.w3.org/2000/svg}"
FIRST = date(2026, 3, 1)


def days(*shares: tuple[int, int] | None) -> list[DayAttainment]:
    """One day per argument from 1 March: (met, missed), or None for no finished target."""
    return [
        DayAttainment(FIRST + timedelta(days=n), *(share or (0, 0)))
        for n, share in enumerate(shares)
    ]


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def points(root) -> list[tuple[float, float, str]]:
    return [
        (float(c.get("cx")), float(c.get("cy")), c.find(f"{SVG}title").text)
        for c in root.iter(f"{SVG}circle")
    ]


def lines(root) -> list[str]:
    return [p.get("d") for p in root.iter(f"{SVG}path") if p.get("class") == "chart-line"]


def test_attainment_is_met_of_finished_rounded_down_and_none_without_any():
    assert attainment(4, 1) == 80
    assert attainment(2, 1) == 66
    # 199 of 200 is not "100 %": only a clean sheet is.
    assert attainment(199, 1) == 99
    assert attainment(3, 0) == 100
    assert attainment(0, 2) == 0
    assert attainment(0, 0) is None
    assert attainment_text(0, 0) == "—"
    assert attainment_text(4, 1) == "80 %"


def test_chart_is_well_formed_svg_with_a_title_and_description_it_is_labelled_by():
    root = parse(daily_attainment_svg(days((4, 1), None, (0, 2)), chart_id="c", title="Daily"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").get("id") == "c-title"
    assert root.find(f"{SVG}title").text == "Daily"
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == "c-desc"
    assert desc.text == (
        "Share of finished targets met each day, 1 Mar to 3 Mar 2026. 2 of 3 days had "
        "finished targets; the others are left blank. Overall 57 % (4 of 7); "
        "lowest 3 Mar: 0 % met (0 of 2); highest 1 Mar: 80 % met (4 of 5)."
    )


def test_chart_has_labelled_axes():
    root = parse(daily_attainment_svg(days(*[(1, 0)] * 15), chart_id="c", title="Daily"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts[:5] == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    assert "Day the target started" in texts
    assert "Targets met" in texts
    # A label a week, counted back from the last day: 15, 8 and 1 March.
    assert [t for t in texts if t.endswith(" Mar")] == ["1 Mar", "8 Mar", "15 Mar"]


def test_a_day_without_finished_targets_is_a_gap_in_the_line_not_a_zero():
    root = parse(
        daily_attainment_svg(
            days((1, 0), (1, 1), None, (0, 3), (3, 1)), chart_id="c", title="Daily"
        )
    )
    drawn = points(root)
    assert [title for *_, title in drawn] == [
        "1 Mar: 100 % met (1 of 1)",
        "2 Mar: 50 % met (1 of 2)",
        "4 Mar: 0 % met (0 of 3)",
        "5 Mar: 75 % met (3 of 4)",
    ]
    # Two runs of line: 1–2 March and 4–5 March; nothing drawn for the 3rd.
    assert len(lines(root)) == 2
    assert all(d.count("L") == 1 for d in lines(root))
    # 100 % at the top, 0 % on the axis: higher shares are higher up.
    (_, top, _), (_, half, _), (_, zero, _), _ = drawn
    assert top < half < zero


def test_a_lone_day_between_gaps_is_a_point_without_a_line():
    root = parse(daily_attainment_svg(days(None, (2, 0), None), chart_id="c", title="t"))
    assert len(points(root)) == 1
    assert lines(root) == []


def test_no_finished_target_at_all_draws_the_axes_and_says_so():
    root = parse(daily_attainment_svg(days(None, None), chart_id="c", title="t"))
    assert points(root) == [] and lines(root) == []
    assert root.find(f"{SVG}desc").text == (
        "Share of finished targets met each day, 1 Mar to 2 Mar 2026: no target finished."
    )


def test_every_text_is_escaped():
    svg = daily_attainment_svg(days((1, 0)), chart_id="c", title='<script>"x" & y</script>')
    root = parse(svg)
    assert root.find(f"{SVG}title").text == '<script>"x" & y</script>'
    assert "<script>" not in svg


@pytest.mark.parametrize("chart_id", ["", "1abc", 'c" onload="x', "a b"])
def test_the_chart_id_must_be_a_plain_id(chart_id):
    with pytest.raises(ValueError, match="Not an id"):
        daily_attainment_svg(days((1, 0)), chart_id=chart_id, title="t")


def test_day_text_is_short_for_an_axis():
    assert day_text(date(2026, 12, 31)) == "31 Dec"
    assert not re.search(r"\d{4}", day_text(date(2026, 1, 1)))
