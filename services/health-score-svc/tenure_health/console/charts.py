"""Server-side SVG charts (no chart library in the browser)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 640, 240, 40


@dataclass(frozen=True)
class LineChart:
    points: str  # the polyline's "x,y x,y ..."
    labels: list[tuple[float, str]]  # x position and text of each x-axis label
    top: int  # the value at the top of the plot
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def line_chart(values: list[tuple[str, int]]) -> LineChart | None:
    """Positions for a line of (label, value) pairs, scaled to the plot; None when there is nothing to draw."""
    if not values:
        return None
    top = max(max(v for _, v in values), 1)
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    xy = [(PAD + i * step, HEIGHT - PAD - v / top * (HEIGHT - 2 * PAD)) for i, (_, v) in enumerate(values)]
    every = max(len(values) // 6, 1)  # at most ~6 labels, so they never overlap
    labels = [(xy[i][0], label) for i, (label, _) in enumerate(values) if i % every == 0]
    return LineChart(points=" ".join(f"{x:.1f},{y:.1f}" for x, y in xy), labels=labels, top=top)
