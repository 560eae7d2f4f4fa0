"""Model-graded scoring: the LLM judge, its prompts and the verdict parser."""
