"""promptfoo ``derivedMetrics`` → the suite's ``derived_metrics:``.

An arithmetic expression over named metrics (``2 * precision * recall / (precision +
recall)``, in mathjs syntax, where ``^`` is a power) is checked by
:mod:`evalbook.stats.expression` and computed when a run ends, over the sums of the
run's named scores and ``__count``, as promptfoo computes it per prompt × provider. A
JavaScript function, or anything that is not arithmetic, is reported with its line.
"""

from __future__ import annotations

import re
from typing import Any

from evalbook.importers._files import line_of, located
from evalbook.importers._model import ImportReport
from evalbook.stats.expression import ExpressionError, parse_expression
from evalbook.suites.yaml_lines import plain

__all__ = ["map_derived_metrics"]

_POWER = re.compile(r"\^")


def map_derived_metrics(
    raw: Any, file: str, line: int | None, report: ImportReport
) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        report.note(file, line, "derivedMetrics", "must be a list of {name, value}; not imported")
        return []
    out: list[dict[str, str]] = []
    for item, at in located(raw, line):
        data = plain(item)
        name = data.get("name") if isinstance(data, dict) else None
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name:
            report.note(file, at, "derivedMetrics", "an entry needs a name and a value")
            continue
        if not isinstance(value, str):
            report.note(
                file, at, f"derivedMetrics {name}", "its value is not an expression; not imported"
            )
            continue
        at = line_of(item, "value") or at
        if "function" in value or "=>" in value:
            report.note(
                file, at, f"derivedMetrics {name}",
                "a JavaScript function is not run; write it as arithmetic over named"
                " metrics (derived_metrics: in the suite)",
            )  # fmt: skip
            continue
        expression = _POWER.sub("**", value.strip())
        try:
            parse_expression(expression)
        except ExpressionError as exc:
            report.note(
                file, at, f"derivedMetrics {name}",
                f"only arithmetic over named metrics is computed: {exc}",
            )  # fmt: skip
            continue
        report.note(
            file, at, f"derivedMetrics {name}",
            "computed when a run ends from the sums of its named scores and __count (shown"
            " by `evalbook run`, `runs show` and --json as metrics.derived)",
            mapped=True,
        )  # fmt: skip
        out.append({"name": name, "expression": expression})
    return out
