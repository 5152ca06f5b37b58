"""The simple map of the parking segments (路段示意图, O8): lines drawn server-side as SVG.

No map tiles are reachable from here, so the segments' own points are projected into a
viewBox (equirectangular, longitude scaled by the cosine of the latitude so that a street
keeps its shape). Pure: the template only writes out what this returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 360.0
MAX_HEIGHT = 300.0
MIN_HEIGHT = 160.0
PAD = 28.0


@dataclass(frozen=True)
class Line:
    key: int
    label: str
    side: str
    points: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class DrawnLine:
    key: int
    label: str
    side: str
    path: str  # the "d" of an SVG path
    label_x: float
    label_y: float


@dataclass(frozen=True)
class Drawing:
    width: float
    height: float
    lines: list[DrawnLine]

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:.0f} {self.height:.0f}"


def draw(lines: Sequence[Line]) -> Drawing:
    """Fit every line into one picture WIDTH wide, north up."""
    points = [p for line in lines for p in line.points]
    if not points:
        return Drawing(WIDTH, MIN_HEIGHT, [])
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    mid_lat = math.radians((min(lats) + max(lats)) / 2)
    x_scale = math.cos(mid_lat)
    span_x = max((max(lons) - min(lons)) * x_scale, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    inner_w = WIDTH - 2 * PAD
    scale = inner_w / span_x
    if span_y * scale > MAX_HEIGHT - 2 * PAD:
        scale = (MAX_HEIGHT - 2 * PAD) / span_y
    height = max(MIN_HEIGHT, span_y * scale + 2 * PAD)
    # Centre the drawing in both directions.
    off_x = (WIDTH - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        x = off_x + (lon - min(lons)) * x_scale * scale
        y = off_y + (max(lats) - lat) * scale
        return round(x, 1), round(y, 1)

    drawn = []
    for line in lines:
        xy = [project(lon, lat) for lon, lat in line.points]
        if not xy:
            continue
        path = "M" + " L".join(f"{x} {y}" for x, y in xy)
        mid = xy[len(xy) // 2] if len(xy) > 2 else ((xy[0][0] + xy[-1][0]) / 2, (xy[0][1] + xy[-1][1]) / 2)
        label_x = min(max(mid[0], 40.0), WIDTH - 40.0)
        label_y = max(mid[1] - 6, 12.0)
        drawn.append(DrawnLine(line.key, line.label, line.side, path, round(label_x, 1), round(label_y, 1)))
    return Drawing(WIDTH, round(height, 1), drawn)
