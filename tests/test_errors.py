"""The error catalogue (src/sentiq/errors.py): one code per cause, every raise site names its cause from
the catalogue with exactly the template's fields and the cause's category class, docs/errors.md is
generated from it, and no error without a code (the old ``E000``) can reach a user."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentiq import errors
from sentiq.errors import Errors

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "sentiq"


def _categories() -> dict[str, type[errors.SentiqError]]:
    found, todo = {}, [errors.SentiqError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


CATEGORIES = _categories()


def violations(source: str, where: str = "<source>") -> tuple[list[str], set[str]]:
    """The rule breaks among the SentiqError constructions in ``source``, and the codes it uses."""
    problems, used = [], set()
    tree = ast.parse(source)
    aliases = {
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("errors")
        for alias in node.names
        if alias.asname
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Errors":
            used.add(node.attr)
        if isinstance(node, ast.Raise) and isinstance(node.exc, (ast.Name, ast.Attribute)):
            name = node.exc.id if isinstance(node.exc, ast.Name) else node.exc.attr
            if aliases.get(name, name) in CATEGORIES:
                problems.append(f"{where}:{node.lineno}: raise {name} without a cause")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        name = aliases.get(name, name)  # from sentiq.errors import ModelError as Broken
        if name not in CATEGORIES:
            continue
        at = f"{where}:{node.lineno}: {name}"
        first = node.args[0] if node.args else None
        if (
            len(node.args) != 1
            or not isinstance(first, ast.Attribute)
            or not isinstance(first.value, ast.Name)
            or first.value.id != "Errors"
        ):
            problems.append(f"{at} is not given exactly one catalogue entry (Errors.Exxx) and named fields")
            continue
        cause = getattr(Errors, first.attr, None)
        if not isinstance(cause, errors.Cause):
            problems.append(f"{at}: Errors.{first.attr} is not in the catalogue")
            continue
        if cause.category is not CATEGORIES[name]:
            problems.append(f"{at}: {cause.code} is a {cause.category.__name__} ({cause.category.codes})")
        given = {kw.arg for kw in node.keywords} - ({"report"} if name == "ExportError" else set())
        if None in given or given != cause.fields:
            problems.append(
                f"{at}: {cause.code} takes the fields {sorted(cause.fields)}, got {sorted(g or '**' for g in given)}"
            )
    return problems, used


def _scan_src() -> tuple[list[str], set[str], int]:
    problems, used, sites = [], set(), 0
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "errors.py" and path.parent == SRC:
            continue
        text = path.read_text(encoding="utf-8")
        found, codes = violations(text, str(path.relative_to(ROOT)))
        problems += found
        used |= codes
        sites += sum(
            1
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in CATEGORIES
        )
    return problems, used, sites


def test_every_raise_site_names_a_catalogue_cause_with_its_fields_and_class():
    problems, _, sites = _scan_src()
    assert sites > 200  # the scan sees the package
    assert not problems, "\n".join(problems)


def test_every_catalogue_entry_is_raised_somewhere():
    _, used, _ = _scan_src()
    unused = sorted(c.code for c in errors.causes() if c.code not in used)
    assert not unused, f"catalogue entries nothing raises: {unused}"


def test_the_checker_rejects_free_text_wrong_class_and_wrong_fields():
    source = """
raise ModelError(f"model directory {path} does not exist")
raise ModelError("no such model", code="E300")
raise DataError(Errors.E342, directory=path)
raise ModelError(Errors.E342, path=path)
raise ModelError(Errors.E999)
raise ModelError
raise ModelError(Errors.E342, directory=path)
raise Broken("free text through an alias")
"""
    problems, used = violations("from sentiq.errors import ModelError as Broken" + source)
    assert sorted(int(p.split(":")[1]) for p in problems) == [2, 3, 4, 5, 6, 7, 9]  # not line 8
    assert "E342" in used


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


def test_free_text_wrong_class_and_wrong_fields_fail_when_raised():
    with pytest.raises(TypeError, match="takes a cause"):
        errors.ModelError("model directory x does not exist")
    with pytest.raises(TypeError, match="takes a cause"):
        errors.SentiqError("something")
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


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["predict", "no-model"], "E155"),  # neither texts nor --input
        (["route", "--model", "zh", "--output", "out"], "E109"),
    ],
)
def test_cli_usage_errors_carry_their_own_code(args, code, tmp_path, monkeypatch):
    from sentiq.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert f"[{code}]" in result.output and "E000" not in result.output and "Traceback" not in result.output
