"""Gate: compare a candidate run with a baseline and fail CI on regression.

::

    verdict = gate(store, candidate="latest", baseline="alias:prod", suite_id="summaries",
                   rules=GateRules(metrics=[parse_metric_rule("faithfulness:max-drop=0.05")]))
    sys.exit(verdict.exit_code)   # 0 pass, 100 gate failed
"""

from evalbook.gate.check import gate, resolve_pair
from evalbook.gate.evaluate import RuleOutcome, Verdict, evaluate
from evalbook.gate.outputs import to_json, to_junit, to_markdown
from evalbook.gate.rules import DEFAULT_ALPHA, GateRules, MetricRule, parse_metric_rule

__all__ = [
    "DEFAULT_ALPHA",
    "GateRules",
    "MetricRule",
    "RuleOutcome",
    "Verdict",
    "evaluate",
    "gate",
    "parse_metric_rule",
    "resolve_pair",
    "to_json",
    "to_junit",
    "to_markdown",
]
