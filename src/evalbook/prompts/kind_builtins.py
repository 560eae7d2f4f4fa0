"""The built-in generation kinds, registered as entry points of ``evalbook.kinds``
exactly like a plugin's. Each says what it expects of its input and is judged by a
scorer that catches the regressions seed 004 cares about (blank, refused, malformed).

``borrower_summary`` and ``complaint_classify`` are the two kinds seed 004 names as its
examples: its own request body (inputs of ``borrower_name``, ``monthly_income`` and
``loan_amount``, no ``templateId``) runs as written once each input says ``_kind``."""

from __future__ import annotations

from evalbook.core.kind import GenerationKind, KindMessage

__all__ = [
    "ANSWER",
    "BORROWER_SUMMARY",
    "CLASSIFY",
    "COMPLAINT_CLASSIFY",
    "COMPLAINT_LABELS",
    "ECHO",
    "EXTRACT_JSON",
    "SUMMARIZE",
    "TRANSLATE",
]

SUMMARIZE = GenerationKind(
    name="summarize",
    description="A faithful summary of `text`, in at most 80 words.",
    system=(
        "You summarize documents faithfully. Keep every figure, name, date and caveat"
        " that matters; add nothing that is not in the text; write plain prose."
    ),
    messages=[
        KindMessage(
            role="user",
            content=("Summarize the following text in at most 80 words.\n\nText:\n{{ text }}"),
        )
    ],
    scorers=["non-empty", "not-is-refusal"],
    inputs=["text"],
)

CLASSIFY = GenerationKind(
    name="classify",
    description="One label out of `labels` (a list) for `text`.",
    system=(
        "You are a careful classifier. Answer with exactly one label from the list given,"
        " spelled as given, and nothing else."
    ),
    messages=[
        KindMessage(
            role="user",
            content=(
                "Labels: {{ labels | join(', ') }}\n\nText:\n{{ text }}\n\n"
                "Which one label fits the text best?"
            ),
        )
    ],
    scorers=["non-empty"],
    inputs=["text", "labels"],
)

EXTRACT_JSON = GenerationKind(
    name="extract_json",
    description="The `fields` (a list of names) found in `text`, as one JSON object.",
    system=(
        "You extract structured data. Reply with a single JSON object and nothing else;"
        " use null for a field the text does not give."
    ),
    messages=[
        KindMessage(
            role="user",
            content=(
                "Extract these fields: {{ fields | join(', ') }}.\n\nText:\n{{ text }}\n\n"
                "Reply with one JSON object whose keys are exactly those fields."
            ),
        )
    ],
    scorers=["contains-json"],
    inputs=["text", "fields"],
)

ANSWER = GenerationKind(
    name="answer",
    description="A direct, concise answer to `question`.",
    system=(
        "You answer questions directly and concisely. If you do not know the answer,"
        " say so rather than guess."
    ),
    messages=[
        KindMessage(
            role="user",
            content="Question: {{ question }}",
        )
    ],
    scorers=["non-empty"],
    inputs=["question"],
)

TRANSLATE = GenerationKind(
    name="translate",
    description="`text` translated into `target` (a language).",
    system=(
        "You are a professional translator. Translate faithfully, keep the formatting,"
        " names and numbers, and reply with the translation only."
    ),
    messages=[
        KindMessage(
            role="user",
            content="Translate into {{ target }}:\n\n{{ text }}",
        )
    ],
    scorers=["non-empty"],
    inputs=["text", "target"],
)

ECHO = GenerationKind(
    name="echo",
    description="Sends `text` exactly as given (no system message): a smoke test of a model.",
    messages=[KindMessage(role="user", content="{{ text }}")],
    scorers=["non-empty"],
    inputs=["text"],
)

BORROWER_SUMMARY = GenerationKind(
    name="borrower_summary",
    description=(
        "A credit officer's summary of a loan application: `borrower_name`,"
        " `monthly_income` and `loan_amount` (seed 004's inputs), with a recommendation."
    ),
    system=(
        "You are a careful credit analyst. Use only the figures given; show the ratios you"
        " compute; never invent debts, history or collateral that the application does"
        " not state."
    ),
    messages=[
        KindMessage(
            role="user",
            content=(
                "Loan application\nBorrower: {{ borrower_name }}\n"
                "Monthly income: {{ monthly_income }}\nRequested loan: {{ loan_amount }}\n\n"
                "In at most 80 words, summarize whether this borrower can carry the loan:"
                " the loan as a multiple of annual income, the figures that decide it, and"
                " a recommendation (approve, approve with conditions, or refer)."
            ),
        )
    ],
    scorers=["non-empty", "not-is-refusal"],
    inputs=["borrower_name", "monthly_income", "loan_amount"],
)

#: The labels ``complaint_classify`` chooses from (a fixed set, so runs compare).
COMPLAINT_LABELS = (
    "billing",
    "fraud",
    "collections",
    "loan_terms",
    "customer_service",
    "technical",
    "other",
)

COMPLAINT_CLASSIFY = GenerationKind(
    name="complaint_classify",
    description=(
        "One category for a customer complaint (`text`): " + ", ".join(COMPLAINT_LABELS) + "."
    ),
    system=(
        "You route customer complaints. Answer with exactly one category from the list"
        " given, spelled as given, and nothing else."
    ),
    messages=[
        KindMessage(
            role="user",
            content=(
                "Categories: " + ", ".join(COMPLAINT_LABELS) + "\n\nComplaint:\n{{ text }}\n\n"
                "Which one category fits the complaint best?"
            ),
        )
    ],
    scorers=["non-empty"],
    inputs=["text"],
)
