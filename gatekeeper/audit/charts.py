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

COLOURS = {"requested": "#1f5fa8", "approved": "#2e8b57", "deployed": "#6a3d9a", "emergency": "#c0392b",
           "rejected": "#8a5a00", "withdrawn": "#7f8c8d", "refused_pushes": "#d35400"}
FONT = 'font-family="system-ui, sans-serif"'
BAR_H, GAP, LABEL_W, PLOT_W = 18, 8, 190, 360


def _svg(chart_id: str, title: str, width: int, height: int, body: list[str], desc: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" id="{escape(chart_id)}-svg" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">'
            f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
            f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every interpolated text is escaped above/below


def _empty(chart_id: str, title: str) -> Markup:
    return _svg(chart_id, title, LABEL_W + PLOT_W, 40, [
        f'<text x="8" y="24" font-size="13" fill="#5b6576" {FONT}>No data in this period.</text>'], "no data")


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


def hbar(chart_id: str, title: str, items: Sequence[tuple[str, float]], *, colour: str = "#1f5fa8",
         unit: str = "", colours: Sequence[str] | None = None) -> Markup:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    items = [(label, v) for label, v in items if v is not None]
    if not items or not any(v for _, v in items):
        return _empty(chart_id, title)
    top = max(v for _, v in items) or 1
    width, height = LABEL_W + PLOT_W + 70, len(items) * (BAR_H + GAP) + GAP
    body = []
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR_H + GAP)
        w = max(2.0, PLOT_W * value / top) if value else 0.0
        fill = colours[i % len(colours)] if colours else colour
        text = f"{label}: {_num(value)}{unit}"
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 13}" font-size="12" text-anchor="end" fill="#1d2430" {FONT}>'
                    f'{escape(label)}</text>')
        body.append(f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{fill}" '
                    f'data-value="{escape(_num(value))}"><title>{escape(text)}</title></rect>')
        body.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 13}" font-size="12" fill="#1d2430" {FONT}>'
                    f'{escape(_num(value) + unit)}</text>')
    desc = "; ".join(f"{label} {_num(v)}{unit}" for label, v in items)
    return _svg(chart_id, title, width, height, body, desc)


def weekly(chart_id: str, title: str, weeks: Sequence[dict[str, Any]], series: Sequence[str]) -> Markup:
    """Grouped vertical bars per ISO week, one bar per series, with a legend."""
    if not weeks or not any(w.get(s) for w in weeks for s in series):
        return _empty(chart_id, title)
    top = max(w.get(s, 0) for w in weeks for s in series) or 1
    group_w = len(series) * 12 + 14
    left, plot_h, bottom = 40, 160, 60
    width = max(left + len(weeks) * group_w + 20, left + len(series) * 120)
    height = plot_h + bottom + 30
    body = [f'<line x1="{left}" y1="{plot_h + 10}" x2="{width - 10}" y2="{plot_h + 10}" stroke="#5b6576"/>',
            f'<text x="{left - 6}" y="18" font-size="11" text-anchor="end" fill="#5b6576" {FONT}>{top}</text>',
            f'<text x="{left - 6}" y="{plot_h + 10}" font-size="11" text-anchor="end" fill="#5b6576" {FONT}>0</text>']
    for i, w in enumerate(weeks):
        x0 = left + 8 + i * group_w
        for j, s in enumerate(series):
            v = w.get(s, 0)
            h = plot_h * v / top if v else 0
            body.append(f'<rect class="bar" x="{x0 + j * 12}" y="{plot_h + 10 - h:.1f}" width="10" height="{h:.1f}" '
                        f'fill="{COLOURS.get(s, "#1f5fa8")}" data-value="{v}">'
                        f'<title>{escape(w["week"])} {escape(s.replace("_", " "))}: {v}</title></rect>')
        body.append(f'<text x="{x0 + len(series) * 6}" y="{plot_h + 26}" font-size="10" text-anchor="middle" '
                    f'fill="#1d2430" {FONT}>{escape(w["week"])}</text>')
    for j, s in enumerate(series):  # legend
        x = left + j * 120
        body.append(f'<rect x="{x}" y="{plot_h + 40}" width="10" height="10" fill="{COLOURS.get(s, "#1f5fa8")}"/>')
        body.append(f'<text x="{x + 14}" y="{plot_h + 49}" font-size="11" fill="#1d2430" {FONT}>'
                    f'{escape(s.replace("_", " "))}</text>')
    desc = "; ".join(f"{w['week']}: " + ", ".join(f"{s.replace('_', ' ')} {w.get(s, 0)}" for s in series)
                     for w in weeks)
    return _svg(chart_id, title, width, height, body, desc)


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
              colours=["#2e8b57", "#b3261e"])),
        ("chart-emergency", "Emergency changes: retrospective approval",
         hbar("chart-emergency", "Emergency changes: retrospective approval",
              [("in time", m["emergency_retro_in_time"]), ("late", m["emergency_retro_late"]),
               ("open", m["emergency_open"])], colours=["#2e8b57", "#b3261e", "#8a5a00"])),
        ("chart-refusals", "Refused pushes by reason",
         hbar("chart-refusals", "Refused pushes by reason", list(m["refused_pushes_by_reason"].items()),
              colour=COLOURS["refused_pushes"])),
        ("chart-lead-time", "Approval lead time, request to last approval",
         hbar("chart-lead-time", "Approval lead time, request to last approval",
              [("median", scale * lead["median"]), ("90th percentile", scale * lead["p90"])] if lead["count"] else [],
              colour="#1f5fa8", unit=unit)),
    ]
    return [{"id": i, "title": t, "svg": svg, "note": (f"{share:.1%} of {m['deployed']} deployments"
                                                         if i == "chart-approvals" and share is not None else "")}
            for i, t, svg in out]
