"""The overview's tables and their charts: every figure is a `Table` (what the page shows as a table
and what its CSV holds), and a chart is drawn from that same table by pygal as SVG. One source for
the picture, the numbers beside it and the download, so they cannot disagree.

pygal writes a `<script>` with its own configuration (for tooltips in an interactive page); the desk
allows no script and shows a chart as an image, so it is taken out before the SVG is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

from gateway import texts

Cell = str | int | float


@dataclass(frozen=True)
class Table:
    """A figure as rows: `columns` names them; the first column is what the x axis shows."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


def dienst_label(code: str | None) -> str:
    """A dienst's Dutch name, as the desk's pages show it (`texts.dienst_name`)."""
    return texts.dienst_name(code, "nl")


def pivot(
    title: str,
    first: str,
    cells: Iterable[tuple[str, str, int]],
    row_keys: Iterable[str],
    series_order: Callable[[str], Any] = str,
    label: Callable[[str], str] = str,
) -> Table:
    """(row, series, count) triples as one row per `row_keys` (missing counts are 0), one column per
    series that has any, and a total column."""
    counts: dict[tuple[str, str], int] = {}
    for row, series, n in cells:
        counts[(row, series)] = counts.get((row, series), 0) + n
    series = sorted({s for _r, s in counts}, key=series_order)
    rows = []
    for row in row_keys:
        values = [counts.get((row, s), 0) for s in series]
        rows.append((row, *values, sum(values)))
    return Table(title, (first, *(label(s) for s in series), "totaal"), tuple(rows))


_STYLE = Style(
    background="white",
    plot_background="white",
    font_family="sans-serif",
    title_font_size=18,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    colors=(
        "#1f5c99",
        "#d1495b",
        "#edae49",
        "#00798c",
        "#66a182",
        "#8d6a9f",
        "#2e4057",
        "#c7754c",
        "#999999",
    ),
)

_KINDS: dict[str, type[pygal.graph.graph.Graph]] = {
    "stacked": pygal.StackedBar,
    "line": pygal.Line,
    "hbar": pygal.HorizontalBar,
    "area": pygal.StackedLine,
}
MAX_BARS = 31  # x values drawn as (stacked) bars; more are drawn as stacked areas


def svg(table: Table, kind: str) -> bytes:
    """The table as a chart: x labels from the first column, one series per other column (the total
    column left out when there are several series)."""
    series = list(table.columns[1:])
    if len(series) > 1 and series[-1] == "totaal":
        series = series[:-1]
    many = len(table.rows) > MAX_BARS
    if kind == "stacked" and many:  # a year of days as bars is thousands of shapes: areas instead
        kind = "area"
    chart = _KINDS[kind](
        title=table.title,
        style=_STYLE,
        js=[],
        width=900,
        height=420,
        x_label_rotation=0 if kind == "hbar" else 40,
        show_minor_x_labels=not many,
        x_labels_major_count=12,
        truncate_label=-1,
        legend_at_bottom=True,
        show_legend=len(series) > 1,
        no_data_text="Geen meldingen in deze periode",
        print_values=False,
        **({"fill": True, "show_dots": False} if kind == "area" else {}),
    )
    chart.x_labels = [str(r[0]) for r in table.rows]
    for n, name in enumerate(series, start=1):
        chart.add(name, [r[n] for r in table.rows])
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return pygal.etree.etree.tostring(root, encoding="utf-8")
