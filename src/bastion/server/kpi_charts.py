"""The KPI page's charts, laid out on the server as SVG geometry (the template writes the
elements, every label escaped there; no script).

Two shapes cover every KPI: horizontal bars (a value per label: gate adoption, compliance,
MTTR, findings before/after production, approval latency, audit readiness, SBOM
completeness, secret-leak incidents per month, security test coverage) and stacked columns
per day (runs blocked by gates over runs failed otherwise). A KPI without data gets an
empty chart, which the page shows as "No data".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bastion.monitor import KpiReport

__all__ = ["Bar", "Chart", "Column", "bars", "day_columns", "kpi_charts"]

_LABEL_W, _BAR_W, _ROW_H, _PAD = 180, 360, 26, 8
_MAX_LABEL = 26
_COL_W, _COL_GAP, _COL_H, _AXIS_H = 22, 8, 160, 22


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, the text after it, where, and its colour class."""

    label: str
    text: str
    x: int
    y: int
    width: int
    height: int
    tone: str


@dataclass(frozen=True)
class Column:
    """One day's stacked column: the security part on top of the other part."""

    day: str
    security: int
    other: int
    x: int
    y_security: int
    h_security: int
    y_other: int
    h_other: int
    show_label: bool


@dataclass(frozen=True)
class Chart:
    """A titled picture: bars or columns, its size, and whether it has anything to show."""

    title: str
    width: int
    height: int
    bars: tuple[Bar, ...] = ()
    columns: tuple[Column, ...] = ()
    axis_y: int = 0

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw."""
        return not self.bars and not self.columns


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


def bars(
    title: str,
    values: Mapping[str, float],
    *,
    scale: float | None = None,
    unit: str = "",
    tones: Mapping[str, str] | None = None,
) -> Chart:
    """A bar per label, lengths relative to ``scale`` (default the largest value)."""
    top = scale if scale is not None else max(values.values(), default=0.0)
    out = []
    for row, (label, value) in enumerate(values.items()):
        length = round(_BAR_W * value / top) if top > 0 else 0
        tone = (tones or {}).get(label, "bar")
        text = f"{value:g}{unit}"
        y = _PAD + row * _ROW_H
        out.append(Bar(_short(label), text, _LABEL_W, y, max(length, 1), _ROW_H - 8, tone))
    height = 2 * _PAD + len(out) * _ROW_H
    return Chart(title, _LABEL_W + _BAR_W + 80, height, bars=tuple(out))


def day_columns(title: str, days: Mapping[str, Mapping[str, int]]) -> Chart:
    """Stacked columns per day: ``security`` (blocked by gates) over ``other`` failures."""
    ordered: Sequence[tuple[str, Mapping[str, int]]] = sorted(days.items())
    top = max((d.get("security", 0) + d.get("other", 0) for _, d in ordered), default=0)
    every = max(1, -(-len(ordered) // 7))  # at most 7 dates under the columns: no overlap
    out = []
    for index, (day, counts) in enumerate(ordered):
        sec, oth = counts.get("security", 0), counts.get("other", 0)
        h_oth = round(_COL_H * oth / top) if top else 0
        h_sec = round(_COL_H * sec / top) if top else 0
        x = _PAD + 30 + index * (_COL_W + _COL_GAP)
        y_oth = _PAD + _COL_H - h_oth
        out.append(Column(day, sec, oth, x, y_oth - h_sec, h_sec, y_oth, h_oth, index % every == 0))
    width = _PAD * 2 + 30 + max(1, len(out)) * (_COL_W + _COL_GAP) + 60
    return Chart(
        title, width, _PAD + _COL_H + _AXIS_H + _PAD, columns=tuple(out), axis_y=_PAD + _COL_H
    )


_SEVERITY_TONES = {"critical": "sev-critical", "high": "sev-high", "medium": "sev-medium"}


def _latency(report: KpiReport) -> dict[str, float]:
    out: dict[str, float] = {}
    for env, latency in report.approval_latency.items():
        if latency.decided:
            out[f"{env} median"] = latency.median_minutes
            out[f"{env} p90"] = latency.p90_minutes
    return out


def _readiness(report: KpiReport) -> dict[str, float]:
    if not report.readiness.deploys:
        return {}
    figures = report.readiness.to_dict()
    named = {k.replace("_", " "): v for k, v in figures["evidence_percent"].items()}
    return {"all five (ready)": figures["ready_percent"], **named}


def _sbom(report: KpiReport) -> dict[str, float]:
    if not report.sbom.artifacts:
        return {}
    figures = report.sbom.to_dict()
    values = {"artifacts with an SBOM": figures["with_sbom_percent"]}
    if report.sbom.components:
        values["components with version+purl"] = figures["complete_components_percent"]
    return values


def _coverage(report: KpiReport) -> dict[str, float]:
    if not report.coverage.repositories:
        return {}
    percent: dict[str, float] = report.coverage.to_dict()["percent"]
    return percent


def kpi_charts(report: KpiReport) -> list[Chart]:
    """Every chart of the KPI page, in reading order."""
    detection = {
        "before production": float(report.found_before),
        "after production": float(report.found_after),
    }
    leaks = {month: float(n) for month, n in report.secret_leaks.items()}
    return [
        bars("Gate adoption (% of pipelines)", report.gate_adoption, scale=100.0, unit="%"),
        bars("Policy compliance by repository (% of runs not blocked)", report.compliance,
             scale=100.0, unit="%"),
        bars("Findings first detected", detection,
             tones={"before production": "good", "after production": "bad"}),
        bars("Mean time to remediate (hours)", report.mttr_hours, unit=" h",
             tones=_SEVERITY_TONES),
        day_columns("Runs blocked by gates vs failed otherwise, per day", report.failures),
        bars("Approval latency (minutes, request to decision)", _latency(report), unit=" min"),
        bars("Audit readiness (% of deploys with the evidence)", _readiness(report),
             scale=100.0, unit="%"),
        bars("SBOM completeness (%)", _sbom(report), scale=100.0, unit="%"),
        bars("Secret-leak incidents per month", leaks, tones=dict.fromkeys(leaks, "bad")),
        bars("Security test coverage (% of repositories)", _coverage(report), scale=100.0,
             unit="%"),
    ]  # fmt: skip
