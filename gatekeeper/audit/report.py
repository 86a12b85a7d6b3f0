"""The control report (issue 16): ``report.html`` in the evidence pack and from ``/audit``.

One self-contained HTML file an auditor prints into the working papers: the period, the controls as
configured (``controls.md``), the metrics and their charts (inline SVG), the population and how it
reconciles to Git (counts on both sides), every exception with a link to its log entry, and the
verification result with the checkpoint it covers. It carries its own stylesheet (screen and print)
and no script, so it renders the same from a zip, a file share or a browser's print-to-PDF.

No ``report.pdf``: the well-kept HTML-to-PDF library (WeasyPrint) needs Pango and friends from the
system's package manager on every server that builds packs; every auditor's browser prints this
file to PDF with the print stylesheet instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gatekeeper import __version__
from gatekeeper.actions.context import Services
from gatekeeper.audit import charts, controls, exceptions, metrics, reconcile, register
from gatekeeper.checkpoints.keys import require_private_key
from gatekeeper.checkpoints.sign import make_checkpoint
from gatekeeper.errors import InputError, LedgerBroken
from gatekeeper.ledger.checkpoint import Checkpoint
from gatekeeper.ledger.verify import Summary, verify_rows
from gatekeeper.store import log
from gatekeeper.verifier.metrics import Tally, summarise

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates" / "audit"


@dataclass
class Report:
    start: str
    end: str
    built: str
    metrics: dict[str, Any]
    controls_md: str
    checkpoint: Checkpoint
    verification: str
    reconciliation: Sequence[reconcile.Result] = ()
    notes: Sequence[dict[str, Any]] = ()
    service_url: str = ""
    policy_sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True)


def markdown_html(text: str) -> Markup:
    """CommonMark with raw HTML disabled (policy names are typed by admins; they are escaped)."""
    from markdown_it import MarkdownIt

    return Markup(MarkdownIt("commonmark", {"html": False}).render(text))  # noqa: S704 - html off: escaped


def reconciliation_rows(results: Sequence[reconcile.Result]) -> list[dict[str, Any]]:
    """Per repo and branch: what Git shows against what the log recorded."""
    out = []
    for r in results:
        deployments = {d.seq for _, d in r.matched}
        out.append({"repo": r.repo, "ref": r.ref or "(no protected branch)", "tip": r.tip,
                    "git_commits": len(r.matched) + len(r.unmatched), "matched": len(r.matched),
                    "emergency": sum(1 for _, d in r.matched if d.emergency),
                    "without_change": sum(1 for _, d in r.matched if d.change_id is None and not d.emergency),
                    "deployments": len(deployments), "unmatched": len(r.unmatched), "missing": len(r.missing),
                    "drift": len(r.drift), "ok": r.ok, "lines": r.lines()})
    return out


def log_link(service_url: str, seq: Any) -> str | None:
    """The ``/log`` page scrolled to entry ``seq`` (the pack's ``log.jsonl`` has it on line ``seq``)."""
    if seq in (None, ""):
        return None
    return f"{service_url.rstrip('/')}/log?before={int(seq) + 1}#seq-{int(seq)}"


METRIC_NAMES = (  # report.html names each metric in words, with its metrics.csv key beside it
    ("population", "Change requests in the register"), ("requested", "Requested"), ("approved", "Approved"),
    ("rejected", "Rejected"), ("deployed", "Deployed"), ("withdrawn", "Withdrawn"),
    ("emergency", "Emergency changes"), ("emergency_share", "Emergency changes, share of deployments"),
    ("emergency_retro_in_time", "Emergency changes retro-approved in time"),
    ("emergency_retro_late", "Emergency changes retro-approved late"),
    ("emergency_open", "Emergency changes still awaiting retrospective approval"),
    ("refused_pushes", "Refused pushes"), ("sod_refusals", "Segregation-of-duties refusals"),
    ("refused_signatures", "Refused signatures"),
    ("deployed_with_complete_approvals", "Deployments with complete prior approval"),
    ("deployed_with_complete_approvals_share", "Deployments with complete prior approval, share"),
    ("hook_drift", "Hook attestation drift"), ("drift_events", "Drift events"),
)


def period_text(start: str, end: str) -> str:
    """``[start, end)`` as the pages write a period: ``2026-05-01 – 2026-05-31``, whole UTC days, both
    included (an end that is not midnight keeps its time; an open end says so)."""
    from datetime import timedelta

    from gatekeeper.period import MAX_TS, MIN_TS, parse_instant

    first = "the beginning" if start == MIN_TS else (start[:10] if start[10:] == "T00:00:00.000000Z" else start)
    if end == MAX_TS:
        return f"{first} – now"
    instant, _ = parse_instant(end, "to")
    if end[10:] == "T00:00:00.000000Z":
        return f"{first} – {(instant - timedelta(days=1)).date().isoformat()}"
    return f"{first} – {end} (not included)"


def render(report: Report) -> str:
    m = report.metrics
    return _env().get_template("report.html").render(
        r=report, m=m, charts=charts.charts(m), hours=charts.human_hours, controls=markdown_html(report.controls_md),
        reconciliation=reconciliation_rows(report.reconciliation), version=__version__,
        log_link=lambda seq: log_link(report.service_url, seq), ok=report.verification.startswith("RESULT: OK"),
        period=period_text(report.start, report.end), metric_names=METRIC_NAMES)


def verification_outcome(run: Callable[[], Summary]) -> str:
    """``RESULT: OK`` and the summary, or ``RESULT: FAILED`` and why (verification.txt, report.html)."""
    try:
        summary = run()
    except LedgerBroken as exc:
        return f"RESULT: FAILED\ngatekeeper: log verify: {exc.message}"
    except InputError as exc:
        return f"RESULT: FAILED (unusable input)\ngatekeeper: error: {exc.message}"
    return f"RESULT: OK\n{summary.describe()}"


def build(services: Services, start: str, end: str, *, now: str | None = None) -> str:
    """The report for ``[start, end)`` on its own (the ``/audit`` download): signs a checkpoint of the
    log head and verifies the log up to it, exactly as the evidence pack does."""
    now = now or register.utc_now()
    key = require_private_key(Path(services.config.service.signing_key))
    cp = make_checkpoint(services.store, key, services.config.service.origin)
    with services.store.read() as session:
        tally = Tally(start, end)
        for row in register.rows(services, start, end, now=now, session=session, log_seqs=False):
            tally.add(row)
        results, notes = reconcile.reconcile_all(services, session, start, end)
        extra = [*tally.incomplete_exceptions(lambda cid: metrics.last_seq(session, cid)),
                 *(row for r in results for row in r.exceptions(now)), *notes]
        found = list(exceptions.exception_rows(session, start, end, now, extra))
        figures = summarise(tally, metrics.log_facts(session, start, end), found,
                            hook_drift=sum(1 for e in found if e["kind"] == "hook-drift"))
        # the stored rows up to the checkpoint, verified as their export lines (no file in between)
        outcome = verification_outcome(lambda: verify_rows(log.rows(session, upto=cp.seq), [cp], key.public_key()))
        policy = controls.policy_in_force(session, cp.seq, services.config)
        text = controls.controls_md(controls.policy_config(services.config, policy), policy, now, cp.key_id)
    return render(Report(start=start, end=end, built=now, metrics=figures, controls_md=text, checkpoint=cp,
                         verification=outcome, reconciliation=results, notes=notes,
                         service_url=services.config.service.url, policy_sha256=policy.sha256))
