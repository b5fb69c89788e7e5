"""A small bar chart of the last minutes with the limit drawn as a dotted line.

Pure rendering (`chart_lines`) is separate from the widget so it can be checked without a
terminal. Values are bucketed: each column shows the peak of its time slice."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

BARS = " ▁▂▃▄▅▆▇█"


def bucket(values: Sequence[float], width: int) -> list[float]:
    if width <= 0 or not values:
        return []
    if len(values) <= width:
        return list(values)
    size = len(values) / width
    return [max(values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)])
            for i in range(width)]  # fmt: skip


def chart_lines(
    values: Sequence[float],
    limit: float,
    width: int,
    height: int,
    bar: str = "green",
    dots: str = "yellow",
) -> list[Text]:
    cols = bucket(values, width)
    top = max([limit, *cols, 1e-9])
    limit_row = height - 1 - min(int(limit / top * height), height - 1) if limit > 0 else -1
    rows: list[Text] = []
    for r in range(height):
        floor = (height - 1 - r) / height * top  # value at the bottom of this row
        line = Text()
        for v in cols:
            fill = (v - floor) / top * height
            if fill >= 1:
                line.append("█", style=bar)
            elif fill > 0:
                line.append(BARS[max(int(fill * 8), 1)], style=bar)
            elif r == limit_row:
                line.append("┄", style=dots)
            else:
                line.append(" ")
        pad = width - len(cols)
        if pad > 0:
            line.append(("┄" if r == limit_row else " ") * pad, style=dots)
        rows.append(line)
    return rows


class Chart(Widget):
    DEFAULT_CSS = """
    Chart { height: 5; width: 1fr; }
    """
    values: reactive[tuple[float, ...]] = reactive(tuple, layout=False)
    limit: reactive[float] = reactive(0.0)

    def render(self) -> Text:
        width, height = self.size.width, max(self.size.height, 1)
        theme = self.app.current_theme
        lines = chart_lines(
            self.values, self.limit, width, height, theme.primary, theme.warning or "yellow"
        )
        return Text("\n").join(lines)
