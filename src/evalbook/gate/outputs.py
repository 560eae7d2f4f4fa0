"""The gate's verdict as CI reads it: Markdown (job summary), JUnit XML, JSON.

Why three: a person reads the Markdown in the pull request's job summary; CI test
reporters read JUnit (a testcase per rule and per newly failing case, so a regression
shows up as a failed test with its case id); tools read the JSON.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evalbook.analysis.compare.comparison import MetricComparison
from evalbook.gate.evaluate import Verdict

__all__ = ["to_json", "to_junit", "to_markdown"]

MAX_LISTED = 25


def to_json(verdict: Verdict) -> str:
    return verdict.model_dump_json(indent=2)


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ci(ci: tuple[float | None, float | None]) -> str:
    lo, hi = ci
    return "" if lo is None or hi is None else f" [{lo:+.3f}, {hi:+.3f}]"


def _p(m: MetricComparison) -> str:
    return "—" if m.p_value is None else f"{m.p_value:.3g}"


def to_markdown(verdict: Verdict) -> str:
    c = verdict.comparison
    head = "✅ evalbook gate passed" if verdict.passed else "❌ evalbook gate failed"
    lines = [f"## {head}", ""]
    if verdict.failing_metrics:
        lines += [f"Failing: **{', '.join(verdict.failing_metrics)}**", ""]
    lines += [
        "| | run | model | prompt |",
        "|---|---|---|---|",
        f"| baseline | `{c.baseline.id[:8]}` | {c.baseline.model} |"
        f" {c.baseline.prompt} v{c.baseline.prompt_version} |",
        f"| candidate | `{c.candidate.id[:8]}` | {c.candidate.model} |"
        f" {c.candidate.prompt} v{c.candidate.prompt_version} |",
        "",
        "| rule | result | detail |",
        "|---|---|---|",
    ]
    for o in verdict.rules:
        lines.append(f"| {o.rule} | {'✅ pass' if o.passed else '❌ fail'} | {o.detail} |")
    lines += [
        "",
        f"Metrics over {c.paired} paired cases (difference = candidate − baseline,"
        f" {c.confidence:.0%} CI):",
        "",
        "| metric | baseline | candidate | difference | p | test |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for m in c.metrics:
        diff = "—" if m.difference is None else f"{m.difference:+.3f}{_ci(m.difference_ci)}"
        lines.append(
            f"| {m.key} | {_num(m.baseline)} | {_num(m.candidate)} | {diff} | {_p(m)} | {m.test} |"
        )
    if verdict.newly_failing:
        lines += ["", f"Newly failing cases ({len(verdict.newly_failing)}):", ""]
        for f in verdict.newly_failing[:MAX_LISTED]:
            lines.append(
                f"- `{f.case_id}`{f' (epoch {f.epoch})' if f.epoch else ''}: {f.baseline_status}"
                f" → {f.candidate_status}, score {f.baseline_score:.3f} → {f.candidate_score:.3f}"
            )
        if len(verdict.newly_failing) > MAX_LISTED:
            lines.append(f"- … and {len(verdict.newly_failing) - MAX_LISTED} more")
    if c.warnings:
        lines += ["", *(f"> ⚠️ {w}" for w in c.warnings)]
    return "\n".join(lines) + "\n"


def to_junit(verdict: Verdict) -> str:
    """Two test suites: the gate's rules, and the newly failing cases (failures when the
    gate failed; tolerated regressions pass, with a note, when it passed)."""
    root = ET.Element("testsuites", name="evalbook gate")
    rules = ET.SubElement(root, "testsuite", name="evalbook.gate.rules")
    for o in verdict.rules:
        case = ET.SubElement(rules, "testcase", classname="evalbook.gate", name=o.rule)
        if not o.passed:
            ET.SubElement(case, "failure", message=o.detail, type="GateRuleFailed").text = o.detail
        else:
            ET.SubElement(case, "system-out").text = o.detail
    _count(rules)
    cases = ET.SubElement(root, "testsuite", name="evalbook.gate.newly-failing")
    for f in verdict.newly_failing:
        name = f.case_id if not f.epoch else f"{f.case_id} (epoch {f.epoch})"
        case = ET.SubElement(cases, "testcase", classname="evalbook.cases", name=name)
        text = (
            f"{f.baseline_status} → {f.candidate_status};"
            f" score {f.baseline_score:.3f} → {f.candidate_score:.3f}"
        )
        if verdict.passed:
            ET.SubElement(case, "system-out").text = f"regressed within the gate's limits: {text}"
        else:
            ET.SubElement(case, "failure", message=text, type="NewlyFailing").text = text
    _count(cases)
    root.set("tests", str(sum(int(s.get("tests", "0")) for s in root)))
    root.set("failures", str(sum(int(s.get("failures", "0")) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _count(suite: ET.Element) -> None:
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(sum(1 for case in suite if case.find("failure") is not None)))
