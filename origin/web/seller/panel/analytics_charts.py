"""Server-rendered SVG charts for the analytics dashboard: no JavaScript, no chart library.

Each function takes plain numbers and labels and returns SVG markup (a
``Markup``, labels escaped) sized by ``viewBox`` so it scales with the page.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH = 720
PLOT_LEFT = 48
PLOT_RIGHT = 12
PLOT_TOP = 12
PLOT_BOTTOM = 28


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:g}"


def line_chart(labels: list[str], values: list[float], *, title: str, height: int = 200) -> Markup:
    """One series as an area under a line, with a y scale and first/middle/last x labels."""
    top = _nice_max(max(values, default=0))
    plot_width = WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = height - PLOT_TOP - PLOT_BOTTOM
    count = max(len(values), 1)

    def x(index: int) -> float:
        return PLOT_LEFT + (plot_width * index / (count - 1) if count > 1 else plot_width / 2)

    def y(value: float) -> float:
        return PLOT_TOP + plot_height * (1 - value / top)

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">']
    for fraction in (0, 0.5, 1):
        gy = y(top * fraction)
        parts.append(f'<line x1="{PLOT_LEFT}" x2="{WIDTH - PLOT_RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" class="grid"/>')
        parts.append(f'<text x="{PLOT_LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">{_label(top * fraction)}</text>')
    if values:
        base = y(0)
        parts.append(f'<polygon class="area" points="{x(0):.1f},{base:.1f} {points} {x(count - 1):.1f},{base:.1f}"/>')
        parts.append(f'<polyline class="line" points="{points}"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5"><title>{escape(labels[i])}: {v:g}</title></circle>')
        for i in sorted({0, count // 2, count - 1}):
            anchor = "start" if i == 0 and count > 1 else "end" if i == count - 1 and count > 1 else "middle"
            parts.append(f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor}">{escape(labels[i])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_list(rows: list[tuple[str, float, str]], *, title: str) -> Markup:
    """Horizontal bars: (label, value, shown value), longest first, as in a 'top N' list."""
    bar_height, gap = 22, 6
    height = max(len(rows), 1) * (bar_height + gap) + gap
    top = max((value for _, value, _ in rows), default=0) or 1
    # Room on the right for the longest shown value (~7 px a character at 11 px), so text never sits on a bar.
    bar_room = WIDTH - 16 - 7 * max((len(shown) for _, _, shown in rows), default=0)
    parts = [f'<svg class="chart bars" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">']
    if not rows:
        parts.append(f'<text x="8" y="{bar_height}">No data in this range</text>')
    for index, (label, value, shown) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        width = max(bar_room * value / top, 1)
        parts.append(f'<rect x="0" y="{y}" width="{width:.1f}" height="{bar_height}" rx="3"/>')
        parts.append(f'<text x="8" y="{y + 15}" class="on-bar">{escape(label[:80])}</text>')
        parts.append(f'<text x="{WIDTH - 4}" y="{y + 15}" text-anchor="end">{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
