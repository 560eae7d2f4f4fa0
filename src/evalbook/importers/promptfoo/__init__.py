"""Import promptfoo configs (``promptfooconfig.yaml``) as evalbook suites."""

from evalbook.importers._registry import Importer
from evalbook.importers.promptfoo._config import import_promptfoo, looks_like_promptfoo

__all__ = ["PROMPTFOO", "import_promptfoo", "looks_like_promptfoo"]

PROMPTFOO = Importer(
    name="promptfoo",
    description="promptfoo config (promptfooconfig.yaml): prompts, providers, tests, asserts",
    load=import_promptfoo,
    sniff=looks_like_promptfoo,
)
