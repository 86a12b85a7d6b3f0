"""Server-rendered SVG charts of the control metrics, for the ``/audit`` page and ``report.html``.

No JavaScript and no inline ``style``: the pages' CSP (``default-src 'self'``) refuses both, so
every colour and font is an SVG presentation attribute, which the CSP allows and printers honour.
Every label is escaped (repo, category and refusal names come from the policy and the log). Each
data element is a ``rect`` of class ``bar`` with a ``<title>`` tooltip and its value written next
to it, so the chart stays readable in black-and-white print and to screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

# Okabe-Ito (colour-blind-safe): every series also carries a direct label, so colour is never the only cue.
OKABE_ITO = {"blue": "#0072B2", "green": "#009E73", "vermillion": "#D55E00", "orange": "#E69F00",
             "purple": "#CC79A7", "sky": "#56B4E9", "black": "#000000", "grey": "#6E6E6E"}
COLOURS = {"requested": OKABE_ITO["blue"], "approved": OKABE_ITO["green"], "deployed": OKABE_ITO["purple"],
           "emergency": OKABE_ITO["vermillion"], "rejected": OKABE_ITO["orange"], "withdrawn": OKABE_ITO["grey"],
           "refused_pushes": OKABE_ITO["black"]}
GOOD, BAD, OPEN = OKABE_ITO["green"], OKABE_ITO["vermillion"], OKABE_ITO["orange"]
FONT = 'font-family="system-ui, sans-serif"'
TEXT = 14  # user units; the charts are drawn at most at their printed width, so text prints at >= 12 px
BAR_H, GAP, LABEL_W, PLOT_W = 22, 8, 210, 330


def _svg(chart_id: str, title: str, width: int, height: int, body: list[str], desc: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" id="{escape(chart_id)}-svg" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">'
            f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
            f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every interpolated text is escaped above/below


def _empty(chart_id: str, title: str) -> Markup:
    return _svg(chart_id, title, LABEL_W + PLOT_W, 40, [
        f'<text x="8" y="24" font-size="{TEXT}" fill="#5b6576" {FONT}>No data in this period.</text>'], "no data")


def _num(v: float) -> str:
    return f"{round(v, 2):g}" if isinstance(v, float) else str(v)


def human_hours(hours: float | None) -> str:
    """A lead time for people: ``3.5 h``, ``12 min`` or ``0.4 s`` (the JSON keeps hours)."""
    if hours is None:
        return "—"
    if hours >= 1:
        return f"{hours:.1f} h"
    if hours >= 1 / 60:
        return f"{hours * 60:.1f} min"
    return f"{hours * 3600:.1f} s"


def hbar(chart_id: str, title: str, items: Sequence[tuple[str, float]], *, colour: str = OKABE_ITO["blue"],
         unit: str = "", colours: Sequence[str] | None = None, axis: str = "changes") -> Markup:
    """Horizontal bars, one per (label, value), scaled to the largest value, each labelled directly;
    ``axis`` titles the value axis."""
    items = [(label, v) for label, v in items if v is not None]
    if not items or not any(v for _, v in items):
        return _empty(chart_id, title)
    top = max(v for _, v in items) or 1
    width, height = LABEL_W + PLOT_W + 80, len(items) * (BAR_H + GAP) + GAP + 28
    body = [f'<text x="{LABEL_W + PLOT_W / 2:.0f}" y="{height - 6}" font-size="{TEXT}" text-anchor="middle" '
            f'fill="#1d2430" {FONT}>{escape(axis)}</text>']
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR_H + GAP)
        w = max(2.0, PLOT_W * value / top) if value else 0.0
        fill = colours[i % len(colours)] if colours else colour
        text = f"{label}: {_num(value)}{unit}"
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 16}" font-size="{TEXT}" text-anchor="end" fill="#1d2430" '
                    f'{FONT}>{escape(label)}</text>')
        body.append(f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{fill}" '
                    f'stroke="#1d2430" stroke-width="0.5" data-value="{escape(_num(value))}">'
                    f'<title>{escape(text)}</title></rect>')
        body.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 16}" font-size="{TEXT}" fill="#1d2430" {FONT}>'
                    f'{escape(_num(value) + unit)}</text>')
    desc = "; ".join(f"{label} {_num(v)}{unit}" for label, v in items)
    return _svg(chart_id, title, width, height, body, desc)


def weekly(chart_id: str, title: str, weeks: Sequence[dict[str, Any]], series: Sequence[str]) -> Markup:
    """Grouped vertical bars per ISO week, one bar per series, each with its value on top; both axes
    titled; a legend names the series (colour is never the only cue: the bars' order is fixed)."""
    if not weeks or not any(w.get(s) for w in weeks for s in series):
        return _empty(chart_id, title)
    top = max(w.get(s, 0) for w in weeks for s in series) or 1
    bar = 18
    group_w = len(series) * bar + 18
    left, plot_h, plot_top = 56, 170, 24
    base = plot_top + plot_h
    legend_w = 150
    width = max(left + len(weeks) * group_w + 20, left + min(len(series), 3) * legend_w)
    legend_rows = -(-len(series) // max(1, (width - left) // legend_w))
    height = base + 56 + legend_rows * 22
    body = [f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#5b6576"/>',
            f'<line x1="{left}" y1="{plot_top}" x2="{left}" y2="{base}" stroke="#5b6576"/>',
            f'<text x="{left - 6}" y="{plot_top + 5}" font-size="{TEXT}" text-anchor="end" fill="#1d2430" {FONT}>'
            f'{top}</text>',
            f'<text x="{left - 6}" y="{base}" font-size="{TEXT}" text-anchor="end" fill="#1d2430" {FONT}>0</text>',
            f'<text x="16" y="{plot_top + plot_h / 2:.0f}" font-size="{TEXT}" text-anchor="middle" fill="#1d2430" '
            f'transform="rotate(-90 16 {plot_top + plot_h / 2:.0f})" {FONT}>changes</text>',
            f'<text x="{left + (width - left) / 2:.0f}" y="{base + 40}" font-size="{TEXT}" text-anchor="middle" '
            f'fill="#1d2430" {FONT}>ISO week</text>']
    for i, w in enumerate(weeks):
        x0 = left + 10 + i * group_w
        for j, s in enumerate(series):
            v = w.get(s, 0)
            h = plot_h * v / top if v else 0
            x = x0 + j * bar
            body.append(f'<rect class="bar" x="{x}" y="{base - h:.1f}" width="{bar - 2}" height="{h:.1f}" '
                        f'fill="{COLOURS.get(s, OKABE_ITO["blue"])}" stroke="#1d2430" stroke-width="0.5" '
                        f'data-value="{v}"><title>{escape(w["week"])} {escape(label(s))}: {v}</title></rect>')
            if v:
                body.append(f'<text x="{x + (bar - 2) / 2:.1f}" y="{base - h - 3:.1f}" font-size="12" '
                            f'text-anchor="middle" fill="#1d2430" {FONT}>{v}</text>')
        body.append(f'<text x="{x0 + len(series) * bar / 2:.0f}" y="{base + 18}" font-size="{TEXT}" '
                    f'text-anchor="middle" fill="#1d2430" {FONT}>{escape(w["week"])}</text>')
    per_row = max(1, (width - left) // legend_w)
    for j, s in enumerate(series):  # legend, in the bars' order
        x = left + (j % per_row) * legend_w
        y = base + 52 + (j // per_row) * 22
        body.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLOURS.get(s, OKABE_ITO["blue"])}" '
                    f'stroke="#1d2430" stroke-width="0.5"/>')
        body.append(f'<text x="{x + 17}" y="{y + 11}" font-size="{TEXT}" fill="#1d2430" {FONT}>'
                    f'{escape(label(s))}</text>')
    desc = "; ".join(f"{w['week']}: " + ", ".join(f"{label(s)} {w.get(s, 0)}" for s in series) for w in weeks)
    return _svg(chart_id, title, width, height, body, desc)


def label(series: str) -> str:
    return series.replace("_", " ")


def charts(m: dict[str, Any]) -> list[dict[str, Any]]:
    """The charts of a metrics document (``metrics.summarise``), in page order: id, title, svg."""
    lead = m["approval_lead_time_hours"]
    share = m["deployed_with_complete_approvals_share"]
    # hours, or minutes / seconds when approvals come quicker (0.02 h reads worse than 1.2 min)
    p90 = lead["p90"] or 0
    scale, unit = (1, " h") if p90 >= 1 or not lead["count"] else (60, " min") if p90 >= 1 / 60 else (3600, " s")
    out = [
        ("chart-weekly", "Changes by week",
         weekly("chart-weekly", "Changes by week", m["by_week"],
                ("requested", "approved", "deployed", "emergency", "refused_pushes"))),
        ("chart-categories", "Changes by category (requested)",
         hbar("chart-categories", "Changes requested by category",
              [(name, c["requested"]) for name, c in m["by_category"].items()])),
        ("chart-outcomes", "Outcomes in the period",
         hbar("chart-outcomes", "Outcomes in the period",
              [(k, m[k]) for k in ("requested", "approved", "deployed", "rejected", "withdrawn", "emergency")],
              colours=[COLOURS[k] for k in ("requested", "approved", "deployed", "rejected", "withdrawn",
                                            "emergency")])),
        ("chart-approvals", "Deployments with complete prior approval",
         hbar("chart-approvals", "Deployments with complete prior approval",
              [("complete", m["deployed_with_complete_approvals"]),
               ("incomplete", m["deployed"] - m["deployed_with_complete_approvals"])],
              colours=[GOOD, BAD], axis="deployments")),
        ("chart-emergency", "Emergency changes: retrospective approval",
         hbar("chart-emergency", "Emergency changes: retrospective approval",
              [("in time", m["emergency_retro_in_time"]), ("late", m["emergency_retro_late"]),
               ("open", m["emergency_open"])], colours=[GOOD, BAD, OPEN], axis="emergency changes")),
        ("chart-refusals", "Refused pushes by reason",
         hbar("chart-refusals", "Refused pushes by reason", list(m["refused_pushes_by_reason"].items()),
              colour=COLOURS["refused_pushes"], axis="refused pushes")),
        ("chart-lead-time", "Approval lead time, request to last approval",
         hbar("chart-lead-time", "Approval lead time, request to last approval",
              [("median", scale * lead["median"]), ("90th percentile", scale * lead["p90"])] if lead["count"] else [],
              unit=unit, axis={" h": "hours", " min": "minutes", " s": "seconds"}[unit])),
    ]
    return [{"id": i, "title": t, "svg": svg, "note": (f"{share:.1%} of {m['deployed']} deployments"
                                                         if i == "chart-approvals" and share is not None else "")}
            for i, t, svg in out]
