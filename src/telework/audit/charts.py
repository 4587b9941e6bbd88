"""Charts as inline SVG, drawn here: the report must open offline, without scripts or a CDN.

Two kinds are enough for an audit report: a step chart of counts over time (VPN access per
department) and horizontal bars (devices per firmware, per ring). Every text is escaped;
each chart carries a <title> and an aria-label so it is readable without seeing it, and the
numbers behind every chart are also in a table and a CSV file of the report.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

#: Colour-blind-safe palette (Okabe-Ito, then Tol's muted), repeated with dashes when longer.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
           "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
_DASHES = ("", "6 3", "2 2")
_FONT = "font-family='DejaVu Sans, Arial, sans-serif'"


def _nice_max(value: float) -> tuple[float, float]:
    """An axis maximum >= value and a tick step, both round numbers."""
    if value <= 0:
        return 1, 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if value / step <= 6:
            top = step * -(-value // step)
            return top, step
    return value, value / 5


def step_chart(series: dict[str, list[tuple[float, float]]], *, title: str,
               x_label: Callable[[float], str], width: int = 960, height: int = 380) -> str:
    """Counts over time, one stepped line per series (the value holds until the next point)."""
    legend_rows = -(-len(series) // 4)
    plot_left, plot_right, plot_top = 50, width - 10, 30
    plot_bottom = height - 40 - 18 * legend_rows
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}' "
           f"height='{height}' role='img' aria-label='{escape(title)}' class='chart'>",
           f"<title>{escape(title)}</title>",
           f"<text x='{plot_left}' y='18' font-size='14' font-weight='bold' {_FONT}>{escape(title)}</text>"]
    if not xs:
        out.append(f"<text x='{plot_left}' y='{plot_top + 40}' font-size='12' {_FONT}>-</text></svg>")
        return "".join(out)
    x0, x1 = min(xs), max(xs)
    span = (x1 - x0) or 1
    top, step = _nice_max(max(ys))

    def sx(x: float) -> float:
        return plot_left + (x - x0) / span * (plot_right - plot_left)

    def sy(y: float) -> float:
        return plot_bottom - y / top * (plot_bottom - plot_top)

    tick = 0.0
    while tick <= top + 1e-9:
        y = sy(tick)
        out.append(f"<line x1='{plot_left}' y1='{y:.1f}' x2='{plot_right}' y2='{y:.1f}' stroke='#ddd'/>"
                   f"<text x='{plot_left - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end' {_FONT}>"
                   f"{tick:g}</text>")
        tick += step
    for i in range(5):
        x = x0 + span * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(f"<text x='{sx(x):.1f}' y='{plot_bottom + 16}' font-size='11' text-anchor='{anchor}' "
                   f"{_FONT}>{escape(x_label(x))}</text>")
    out.append(f"<line x1='{plot_left}' y1='{plot_bottom}' x2='{plot_right}' y2='{plot_bottom}' stroke='#555'/>")
    for n, (name, points) in enumerate(series.items()):
        colour, dash = PALETTE[n % len(PALETTE)], _DASHES[(n // len(PALETTE)) % len(_DASHES)]
        path = []
        for i, (x, y) in enumerate(sorted(points)):
            if i == 0:
                path.append(f"M{sx(x):.1f},{sy(y):.1f}")
            else:
                path.append(f"H{sx(x):.1f}V{sy(y):.1f}")
        path.append(f"H{plot_right:.1f}")
        out.append(f"<path d='{''.join(path)}' fill='none' stroke='{colour}' stroke-width='2'"
                   + (f" stroke-dasharray='{dash}'" if dash else "") + f"><title>{escape(name)}</title></path>")
        lx = plot_left + (n % 4) * (plot_right - plot_left) / 4
        ly = plot_bottom + 34 + (n // 4) * 18
        last = sorted(points)[-1][1] if points else 0
        out.append(f"<line x1='{lx:.1f}' y1='{ly - 4}' x2='{lx + 18:.1f}' y2='{ly - 4}' stroke='{colour}' "
                   f"stroke-width='3'" + (f" stroke-dasharray='{dash}'" if dash else "") + "/>"
                   f"<text x='{lx + 24:.1f}' y='{ly}' font-size='11' {_FONT}>{escape(name)} ({last:g})</text>")
    out.append("</svg>")
    return "".join(out)


def bar_chart(items: list[tuple[str, float]], *, title: str, width: int = 460, bar: int = 22) -> str:
    """Horizontal bars with their values, largest first as given."""
    label_width, top = 130, 28
    height = top + max(len(items), 1) * (bar + 6) + 10
    biggest = max((v for _, v in items), default=0) or 1
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='{width}' "
           f"height='{height}' role='img' aria-label='{escape(title)}' class='chart'>",
           f"<title>{escape(title)}</title>",
           f"<text x='0' y='18' font-size='14' font-weight='bold' {_FONT}>{escape(title)}</text>"]
    room = width - label_width - 50
    for n, (label, value) in enumerate(items):
        y = top + n * (bar + 6)
        length = max(value / biggest * room, 1 if value else 0)
        out.append(f"<text x='{label_width - 8}' y='{y + bar * 0.7:.1f}' font-size='12' text-anchor='end' "
                   f"{_FONT}>{escape(label)}</text>"
                   f"<rect x='{label_width}' y='{y}' width='{length:.1f}' height='{bar}' "
                   f"fill='{PALETTE[n % len(PALETTE)]}'><title>{escape(label)}: {value:g}</title></rect>"
                   f"<text x='{label_width + length + 6:.1f}' y='{y + bar * 0.7:.1f}' font-size='12' "
                   f"{_FONT}>{value:g}</text>")
    out.append("</svg>")
    return "".join(out)


def downsample(points: list[tuple[float, dict]], buckets: int = 150) -> list[tuple[float, dict]]:
    """At most `buckets` points: the last value in each equal slice of time (a step chart
    then shows the state at the end of each slice, which is what "on that day" means)."""
    if len(points) <= buckets:
        return points
    x0, x1 = points[0][0], points[-1][0]
    width = (x1 - x0) / buckets or 1
    kept: dict[int, tuple[float, dict]] = {}
    for x, value in points:
        kept[min(int((x - x0) / width), buckets - 1)] = (x, value)
    return [kept[k] for k in sorted(kept)]
