"""Charts drawn on the server as inline SVG: readable without JavaScript, styled by the
page's own colours (`currentColor`), and described for screen readers.

Pure Python, no Django: the caller passes plain values and marks the returned markup
safe. Every piece of text that goes into the SVG is escaped here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun")
MONTHS += ("Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(day: date) -> str:
    """`3 Mar`: short enough for an axis label."""
    return f"{day.day} {MONTHS[day.month]}"


def attainment(met: int, missed: int) -> int | None:
    """Met as a whole percentage of the finished targets, or None when none finished.
    Rounded down: 100 % only when nothing was missed."""
    finished = met + missed
    if not finished:
        return None
    return met * 100 // finished


def attainment_text(met: int, missed: int) -> str:
    """`92 %`, or `—` when no target finished."""
    share = attainment(met, missed)
    return "—" if share is None else f"{share} %"


@dataclass(frozen=True)
class DayAttainment:
    day: date
    met: int = 0
    missed: int = 0

    @property
    def share(self) -> int | None:
        return attainment(self.met, self.missed)

    @property
    def text(self) -> str:
        """`3 Mar: 80 % met (4 of 5)`, or `3 Mar: no finished targets`."""
        if self.share is None:
            return f"{day_text(self.day)}: no finished targets"
        finished = self.met + self.missed
        return f"{day_text(self.day)}: {self.share} % met ({self.met} of {finished})"


# Geometry, in SVG user units (the chart scales to its container).
WIDTH, HEIGHT = 720, 280
# Room on the right for half of the last day's label, which is centred on its point.
LEFT, RIGHT, TOP, BOTTOM = 64, 28, 16, 56
GRID = (0, 25, 50, 75, 100)
# One x label a week, counted back from the last day, so the latest day is labelled.
LABEL_EVERY = 7


def daily_attainment_svg(days: Sequence[DayAttainment], *, chart_id: str, title: str) -> str:
    """A line of the daily attainment (0–100 %) over `days`, in their order.

    Days without finished targets break the line and have no point: a gap, never a
    0 %. Each point has a tooltip (`<title>`); the whole chart has a title and a
    description saying what it shows, for screen readers and text browsers."""
    if not re.fullmatch(r"[A-Za-z][\w-]*", chart_id):
        raise ValueError(f"Not an id for the chart: {chart_id!r}")
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_height

    def x(index: int) -> float:
        if len(days) < 2:
            return LEFT + plot_width / 2
        return LEFT + plot_width * index / (len(days) - 1)

    def y(share: int) -> float:
        return bottom - plot_height * share / 100

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' class="chart" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_description(days))}</desc>',
    ]
    # Grid and y axis labels.
    parts.append('<g class="chart-grid" stroke="currentColor" stroke-opacity="0.2">')
    for share in GRID:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(share):g}" y2="{y(share):g}"/>'
        )
    parts.append("</g>")
    parts.append('<g class="chart-labels" fill="currentColor" font-size="12">')
    for share in GRID:
        parts.append(
            f'<text x="{LEFT - 8}" y="{y(share) + 4:g}" text-anchor="end">{share} %</text>'
        )
    for index, point in enumerate(days):
        if (len(days) - 1 - index) % LABEL_EVERY == 0:
            parts.append(
                f'<text x="{x(index):.1f}" y="{bottom + 18}" text-anchor="middle">'
                f"{escape(day_text(point.day))}</text>"
            )
    # Axis titles.
    parts.append(
        f'<text x="{LEFT + plot_width / 2:g}" y="{HEIGHT - 8}" text-anchor="middle">'
        "Day the target started</text>"
    )
    parts.append(
        f'<text x="16" y="{TOP + plot_height / 2:g}" text-anchor="middle"'
        f' transform="rotate(-90 16 {TOP + plot_height / 2:g})">Targets met</text>'
    )
    parts.append("</g>")
    # Axes.
    parts.append(
        f'<path class="chart-axes" d="M{LEFT} {TOP}V{bottom}H{WIDTH - RIGHT}"'
        ' fill="none" stroke="currentColor" stroke-opacity="0.6"/>'
    )
    # The line, broken at every day without finished targets.
    for run in _runs(days):
        if len(run) < 2:
            continue
        path = "".join(
            f"{'M' if n == 0 else 'L'}{x(i):.1f} {y(days[i].share):.1f}" for n, i in enumerate(run)
        )
        parts.append(
            f'<path class="chart-line" d="{path}" fill="none" stroke="#2f6fb0"'
            ' stroke-width="2" stroke-linejoin="round"/>'
        )
    parts.append('<g class="chart-points" fill="#2f6fb0">')
    for index, point in enumerate(days):
        if point.share is None:
            continue
        parts.append(
            f'<circle cx="{x(index):.1f}" cy="{y(point.share):.1f}" r="4">'
            f"<title>{escape(point.text)}</title></circle>"
        )
    parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _runs(days: Sequence[DayAttainment]) -> list[list[int]]:
    """Indexes of consecutive days that all have finished targets."""
    runs: list[list[int]] = []
    current: list[int] = []
    for index, point in enumerate(days):
        if point.share is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(index)
    if current:
        runs.append(current)
    return runs


def _description(days: Sequence[DayAttainment]) -> str:
    if not days:
        return "No days to show."
    span = f"{day_text(days[0].day)} to {day_text(days[-1].day)} {days[-1].day.year}"
    with_data = [point for point in days if point.share is not None]
    if not with_data:
        return f"Share of finished targets met each day, {span}: no target finished."
    met = sum(point.met for point in with_data)
    missed = sum(point.missed for point in with_data)
    lowest = min(with_data, key=lambda point: point.share)
    highest = max(with_data, key=lambda point: point.share)
    return (
        f"Share of finished targets met each day, {span}. "
        f"{len(with_data)} of {len(days)} days had finished targets; the others are left "
        f"blank. Overall {attainment_text(met, missed)} ({met} of {met + missed}); "
        f"lowest {lowest.text}; highest {highest.text}."
    )
