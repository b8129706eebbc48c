"""Item forms (事项表单): definitions, the expression subset and the one evaluator of answers.

Pure: no I/O, no clock (callers pass `today`). The app drives its form step from these
functions and the gateway refuses answers with the same ones (docs/forms.md).
"""

from shared.forms.answers import (
    FieldState,
    Problem,
    choices_for,
    default_answer,
    field_state,
    label_text,
    validate_answers,
)
from shared.forms.evaluation import evaluate
from shared.forms.expr import ExpressionError, parse
from shared.forms.model import FORMAT, Choice, Field, FieldType, Form, FormDefinitionError, form_from_json

__all__ = [
    "FORMAT", "Choice", "ExpressionError", "Field", "FieldState", "FieldType", "Form", "FormDefinitionError",
    "Problem", "choices_for", "default_answer", "evaluate", "field_state", "form_from_json", "label_text",
    "parse",
    "validate_answers",
]
