"""The error catalogue (src/sentiq/errors.py): one code per cause, every raise site names its cause from
the catalogue with exactly the template's fields and the cause's category class, docs/errors.md is
generated from it, and no error without a code (the old ``E000``) can reach a user. (The raise-site
rules are checked once every site is migrated.)"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from sentiq import errors
from sentiq.errors import Errors

ROOT = Path(__file__).resolve().parents[1]


def test_codes_are_unique_in_range_and_every_entry_explains_itself():
    causes = errors.causes()
    codes = [c.code for c in causes]
    assert len(codes) == len(set(codes)) > 200
    for cause in causes:
        assert cause.code[:2] == cause.category.codes[:2] and len(cause.code) == 4, cause
        assert cause.code not in errors.RETIRED and cause.code != "E000"
        assert cause.fix.strip() and cause.message.strip() and "\n" not in cause.fix
        assert all(name.isidentifier() for name in cause.fields), cause  # no {x.attr} or {x[0]}
    # codes that were documented as one cause keep their meaning
    assert Errors.E201.category is errors.UnknownLabelError and "label map" in Errors.E201.message
    assert Errors.E202.category is errors.SingleClassError
    assert Errors.E203.category is errors.EmptyTextError and "{reason}" in Errors.E203.message
    assert Errors.E330.category is errors.ExportError
    assert Errors.E401.category is errors.DivergenceError and "diverged" in Errors.E401.message
    assert Errors.E402.category is errors.CollapseError


def test_an_error_carries_its_cause_code_and_message_and_pickles():
    error = errors.ModelError(Errors.E342, directory="runs/x")
    assert error.code == "E342" and str(error) == "[E342] model directory runs/x does not exist"
    assert isinstance(error, ValueError) and error.cause is Errors.E342
    back = pickle.loads(pickle.dumps(error))  # crosses Ray / worker process boundaries
    assert type(back) is errors.ModelError and str(back) == str(error) and back.cause is Errors.E342
    export = errors.ExportError(Errors.E330, failures="f", output="o", report={"passed": False})
    assert pickle.loads(pickle.dumps(export)).report == {"passed": False}


def test_wrong_class_and_wrong_fields_fail_when_raised():
    with pytest.raises(TypeError, match="E342 is a ModelError"):
        errors.DataError(Errors.E342, directory="x")
    with pytest.raises(TypeError, match="takes the fields"):
        errors.ModelError(Errors.E342, path="x")
    with pytest.raises(TypeError, match="outside ModelError's range"):  # a catalogue entry in the wrong range
        errors.Cause(errors.ModelError, "m", "f").__set_name__(errors.Errors, "E101")


def test_docs_error_reference_is_generated_from_the_catalogue():
    docs = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert docs == errors.reference_markdown(), "run scripts/error_reference.py --write"
    for cause in errors.causes():
        assert f"| {cause.code} | `{cause.category.__name__}` |" in docs
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/errors.md" in readme and "| E330 |" not in readme
