"""Where the points of the pages' inline SVG charts go (the words and shapes are in templates/web/).

Geometry only: the attendance chart on a CoP's console and the sparklines on the portfolio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 56  # room for the axes' labels and the values over the points
INSET = 28  # the first and last points stand off the axes, so their labels clear the ticks


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    label: date  # the session's day


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: list[Point]
    line: str  # an SVG polyline's points
    ticks: list[tuple[float, int]]  # (y, value) on the vertical axis
    left: int
    right: int
    top: int
    bottom: int  # the horizontal axis's y


def _x(i: int, n: int, left: float, span: float) -> float:
    return round(left + (span * i / (n - 1) if n > 1 else span / 2), 1)


def line_chart(values: Sequence[tuple[date, int]], width: int = 640, height: int = 260) -> Chart:
    """A line chart of (label, value), oldest first, from zero to a little above the highest."""
    top_value = max([v for _, v in values] + [1])
    step = max(1, -(-top_value // 4))  # about four ticks, whole people
    ceiling = step * -(-top_value // step)
    plot_h, span = height - TOP - BOTTOM, width - LEFT - RIGHT

    def y(v: int) -> float:
        return round(TOP + plot_h * (1 - v / ceiling), 1)

    points = [Point(_x(i, len(values), LEFT + INSET, span - 2 * INSET), y(v), v, label)
              for i, (label, v) in enumerate(values)]
    return Chart(width, height, points, " ".join(f"{p.x},{p.y}" for p in points),
                 [(y(v), v) for v in range(0, ceiling + 1, step)], LEFT, width - RIGHT, TOP, height - BOTTOM)


def sparkline(values: Sequence[int], width: int = 80, height: int = 24) -> str:
    """An SVG polyline's points for a small trend line (empty with fewer than two values)."""
    if len(values) < 2:
        return ""
    top = max(max(values), 1)
    return " ".join(f"{_x(i, len(values), 3, width - 6)},{round(3 + (height - 6) * (1 - v / top), 1)}"
                    for i, v in enumerate(values))
