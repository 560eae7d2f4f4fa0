"""Write an imported suite as a YAML suite file that loads back to the same suite.

Strings with newlines are written as literal blocks (``|``, ``|-``, ``|+`` as the text's
trailing newlines require), so a prompt reads as it was written and round-trips byte for
byte. The header is YAML comments: the source, the summary, and every note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from evalbook.importers._model import ImportedSuite

__all__ = ["dump_yaml", "suite_yaml"]


class _Dumper(yaml.SafeDumper):
    """Safe dumping, literal blocks for multi-line strings, lists indented under keys."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: object) -> bool:
        return True  # a suite file spells every value out (no &id001 anchors)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and not any(c in value for c in "\r\t\x0b\x0c\x85\u2028\u2029"):
        # PyYAML falls back to quoting when a literal block cannot hold the text
        # (trailing spaces on a line, leading blank lines): still exact, only less pretty.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    """YAML text for ``data`` (keys in insertion order, Unicode kept)."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


def suite_yaml(imported: ImportedSuite) -> str:
    report = imported.report
    lines = [
        "# yaml-language-server: $schema=https://evalbook.dev/schema/suite.json",
        f"# Imported from {report.tool} by `evalbook import`: {report.source}",
        f"# {report.summary()}",
        *(f"# {line}" for line in imported.header),
    ]
    if report.notes:
        lines.append("#")
        lines.extend("# " + str(note).replace("\n", " ") for note in report.sorted_notes())
    return "\n".join(lines) + "\n" + dump_yaml(imported.data)
