"""A suite's hash names its content for good: runs, resumes and comparisons find their
suite by it. These values were computed before the executor's hot path was reworked;
the same content must keep giving them, whatever the loading path."""

from __future__ import annotations

import json
from pathlib import Path

from evalbook.suites import load_suite, load_suite_from_dict

PINNED_INLINE = "76298520d720ecdb9a810edd2447a2dd258bca61d03c80d2931710c64c981ded"
PINNED_DATASET = "b1106edebd0b854016e6e2d01b6ee9ffda551239dab2a2871bb4841e301fd442"


def _inline() -> dict[str, object]:
    return {
        "id": "pinned",
        "name": "Pinned",
        "threshold": 0.5,
        "prompt": "Q: {{ q }} ({{ n }})",
        "scorers": [{"equals": "{{ expected }}"}, "non-empty"],
        "cases": [
            {"id": "a", "vars": {"q": "2+2?", "n": 1}, "expected": "4", "tags": ["math"]},
            {"vars": {"q": "Capital of France?", "n": 2}, "expected": "Paris"},
            {"id": "c", "vars": {"q": 'é ✓ "quoted"', "n": 3.5}, "section": "unicode"},
        ],
    }


def test_an_inline_suite_keeps_its_hash() -> None:
    assert load_suite_from_dict(_inline()).hash == PINNED_INLINE


def test_a_suite_with_a_dataset_keeps_its_hash(tmp_path: Path) -> None:
    rows = [{"id": f"r{i}", "q": f"question {i}", "expected": str(i % 3)} for i in range(50)]
    rows.append({"q": "no id: one is made from the content", "expected": "x"})
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "cases.csv").write_text('id,q,expected\ncsv1,from csv,1\ncsv2,"a, b",2\n')
    (tmp_path / "suite.yaml").write_text(
        "id: pinned-data\n"
        "prompt: 'Q: {{ q }}'\n"
        "scorers: [{equals: '{{ expected }}'}]\n"
        "cases:\n"
        "  - file: cases.jsonl\n"
        "    section: jsonl\n"
        "  - file: cases.csv\n"
        "    tags: [csv]\n"
    )
    assert load_suite(tmp_path / "suite.yaml").hash == PINNED_DATASET


#: Computed with the loader as it was before dataset rows' case JSON was assembled from
#: their fields (commit 9dca6b7).
PINNED_EDGES = "6b3639e6ceb53a4ffd40fbf6fc4b2d46508bc93a2392c219e8256a954f5956c4"


def test_a_dataset_of_edge_values_keeps_its_hash(tmp_path: Path) -> None:
    """Escapes, astral characters, big and negative-zero numbers, nested objects, NaN and
    infinities (written as null), a generated id, an integer id, a case with its own
    messages, and an include's tags."""
    lines = [
        '{"id": "u", "q": "é ✓ \\"quoted\\" \\\\ tab\\t \\u2028 \\u0001 😀", "n": 3.5,'
        ' "big": 1000000000000000000000000000000}',
        '{"id": "nested", "q": "n", "expected": {"z": [1, 2.0, -0.0, 1e300, null, true]},'
        ' "metadata": {"b": 1, "a": {"d": [], "c": {}}}}',
        '{"id": "nan", "q": "not a number", "x": NaN, "expected": -Infinity}',
        '{"q": "generated id", "expected": 7, "choices": ["a", "b"], "tags": ["t"],'
        ' "section": "s"}',
        '{"id": 12, "vars": {"q": "structured"}, "expected": false}',
        '{"id": "msg", "messages": [{"role": "user", "content": "own {{ q }}"}],'
        ' "vars": {"q": "m"}}',
    ]
    (tmp_path / "edge.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "suite.yaml").write_text(
        "id: pinned-edges\nprompt: 'Q: {{ q }}'\ncases:\n  - file: edge.jsonl\n    tags: [inc]\n"
    )
    assert load_suite(tmp_path / "suite.yaml").hash == PINNED_EDGES
