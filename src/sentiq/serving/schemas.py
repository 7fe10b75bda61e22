"""Request and response models of the REST service (they are also its OpenAPI schema).

The request model is built per service because its limits (texts per request,
characters per text) are settings; they appear in the OpenAPI schema as ``maxItems`` and
``maxLength`` so clients and schema-driven test tools know them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
    create_model,
    model_validator,
)

# A text must hold one character that is not "blank": white space, a control character (NUL, \x1e, ...)
# or an invisible format character (zero-width space, joiners, word joiner, BOM). Written so that it
# means the same in Python's re and in the ECMA-262 dialect of JSON Schema (`pattern`): each dialect's
# \s lacks some characters the other has, and every one of them is listed explicitly.
BLANK_CHARS = r"\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2060-\u2064\ufeff"
TEXT_PATTERN = f"[^{BLANK_CHARS}]"
_VISIBLE = re.compile(TEXT_PATTERN)


def _check_text(text: str) -> str:
    # Stricter than Predictor.validate_texts (str.strip), so nothing valid here fails there.
    if not _VISIBLE.search(text):
        raise ValueError("text is empty or only white space, control or invisible characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text is not valid Unicode (it holds a lone surrogate escape)") from None
    return text


_JSON_TYPES = {dict: "an object", type(None): "null", int: "a number", float: "a number", bool: "a boolean"}


def _one_or_many(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ValueError(f"texts must be a string or a list of strings, not {_JSON_TYPES.get(type(value), 'that')}")
    return value


def request_model(*, max_texts: int, max_chars: int, max_explain_texts: int = 8) -> type[BaseModel]:
    """``{"texts": "one text"}`` or ``{"texts": ["one", "or many"], "explain": true}`` with the service's limits."""
    text_schema = {"type": "string", "minLength": 1, "maxLength": max_chars, "pattern": TEXT_PATTERN}
    texts_schema = {
        "anyOf": [text_schema, {"type": "array", "items": text_schema, "minItems": 1, "maxItems": max_texts}],
        "title": "Texts",
        "description": f"One text, or a list of 1 to {max_texts} texts (at most {max_explain_texts} with explain=true); "
        f"each at most {max_chars} characters and not blank (it needs a character other than white "
        "space, control characters and invisible format characters such as U+200B).",
    }
    # The explain limit depends on `explain`: JSON Schema says it with if/then (OpenAPI 3.1).
    explain_rule = {
        "if": {"properties": {"explain": {"const": True}}, "required": ["explain"]},
        "then": {
            "properties": {"texts": {"anyOf": [{"type": "string"}, {"type": "array", "maxItems": max_explain_texts}]}}
        },
    }
    Text = Annotated[str, Field(min_length=1, max_length=max_chars), AfterValidator(_check_text)]
    Texts = Annotated[
        list[Text],
        Field(min_length=1, max_length=max_texts),
        BeforeValidator(_one_or_many),
        WithJsonSchema(texts_schema),
    ]
    explain_help = (
        f"Also explain each prediction (word weights towards the predicted label); at most "
        f"{max_explain_texts} texts per request with explain"
        if max_explain_texts
        else "Explanations are turned off on this service (SENTIQ_MAX_EXPLAIN_TEXTS=0)"
    )

    def explain_limit(request):
        # Not expressible in the JSON schema (it depends on `explain`), so checked here: still a 422.
        if request.explain and len(request.texts) > max_explain_texts:
            if not max_explain_texts:
                raise ValueError("explanations are turned off on this service (SENTIQ_MAX_EXPLAIN_TEXTS=0)")
            raise ValueError(
                f"explain is limited to {max_explain_texts} texts per request "
                f"(got {len(request.texts)}); send fewer texts or explain=false"
            )
        return request

    return create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", strict=False, json_schema_extra=explain_rule),
        __validators__={"explain_limit": model_validator(mode="after")(explain_limit)},
        texts=(Texts, ...),
        # strict: a JSON true or false only (not 0, 1, "yes", "off")
        explain=(StrictBool, Field(False, description=explain_help + " (a JSON boolean).")),
    )


class ExplainedWord(BaseModel):
    """One word of the explained text and its weight."""

    word: str = Field(..., description="The word, as it appears in `explained_text`.")
    weight: float = Field(
        ...,
        description="Its importance in logit units of the uncalibrated model: positive pushes "
        "towards the predicted label, negative against it.",
    )
    start: int = Field(
        ...,
        ge=0,
        description="Offset of the word's start in `explained_text` (the preprocessed "
        "text, not necessarily the request's text), counted in Unicode code "
        "points: an index into a Python str (an emoji counts 1).",
    )
    end: int = Field(..., ge=0, description="Code-point offset just past the word's end in `explained_text`.")
    start_utf16: int = Field(
        ...,
        ge=0,
        description="The same start counted in UTF-16 code units: an index into a "
        "JavaScript, Java or C# string (an emoji outside the BMP counts 2).",
    )
    end_utf16: int = Field(..., ge=0, description="The same end counted in UTF-16 code units.")


class TextPrediction(BaseModel):
    """The prediction for one text."""

    label: str | None = Field(
        ...,
        description="The predicted label (highest probability); null when the text was not scored (`note` says why).",
    )
    score: float | None = Field(
        ..., ge=0, le=1, description="Probability of the predicted label (null when not scored)."
    )
    scores: dict[str, float] | None = Field(
        ..., description="Probability of every label, in the model's label order (null when not scored)."
    )
    note: str | None = Field(
        None,
        description='Only for a text that was not scored: why ("empty after '
        "preprocessing\": the model's preprocessing left nothing of it, a bare "
        'URL or @mention; "unsupported language" for a routed model).',
    )
    warning: str | None = Field(
        None,
        description='Only for a scored text the answer may not hold for: "language mismatch: ..." when a '
        "single-language model gets text in another script (its answer means little, however confident).",
    )
    language: str | None = Field(None, description="Only from models that route by language: the detected language.")
    model: str | None = Field(
        None, description='Only from models that route by language: the member that answered (or "unsupported").'
    )
    explained_text: str | None = Field(
        None,
        description="Only with explain=true: the text as the model saw it, after the model's preprocessing "
        "(HTML tags dropped, white space collapsed, ...); the explanation's offsets refer to this "
        "text. Equal to the request's text when preprocessing left it unchanged.",
    )
    explanation: list[ExplainedWord] | None = Field(
        None,
        description="Only with explain=true: every word of `explained_text` in order, with its weight towards "
        "`label` (the method follows the model's approach: exact linear contributions for "
        "tfidf, integrated gradients for finetune, ...; see sentiq.explanations).",
    )
    explanation_method: str | None = Field(
        None,
        description="Only with explain=true: the method that explained it "
        "(linear, integrated-gradients, occlusion, ...).",
    )


class PredictResponse(BaseModel):
    model: str = Field(..., description="Name/version of the model that answered.")
    request_id: str = Field(..., description="Id of this request (the X-Request-ID header, or generated).")
    predictions: list[TextPrediction] = Field(..., description="One prediction per text, in request order.")


class Health(BaseModel):
    status: str = Field("ok", description="Always 'ok' while the process answers.")


class Ready(BaseModel):
    status: str = Field(..., description="'ready' once the model is loaded.")
    model: str = Field(..., description="Name/version of the served model.")
    labels: list[str] = Field(..., description="The model's labels, in order.")


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(..., description="Where the problem is, e.g. ['body', 'texts', 3].")
    msg: str = Field(..., description="What is wrong.")
    type: str = Field(..., description="Machine-readable error type.")


class ValidationErrorResponse(BaseModel):
    message: str = Field(..., description="All problems in one readable line.")
    detail: list[ErrorDetail] = Field(..., description="Each problem on its own.")


class ErrorResponse(BaseModel):
    detail: str = Field(..., description="What went wrong.")
