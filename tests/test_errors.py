"""The error catalogue: every error has a code, the README's table is generated from it, and no
error without a code (the old ``E000``) can reach a user."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentiq import errors

ROOT = Path(__file__).resolve().parents[1]


def test_codes_are_unique_and_every_class_explains_itself():
    classes = errors.catalogue()
    assert len({cls.code for cls in classes}) == len(classes)
    assert all(cls.__doc__ and cls.code.startswith("E") and cls.code != "E000" for cls in classes)


def test_readme_error_table_is_generated_from_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- error-reference:start -->")[1].split("<!-- error-reference:end -->")[0]
    assert section.strip() == errors.reference_markdown(), "run scripts/error_reference.py --write"


def test_the_base_class_cannot_be_raised_without_a_code():
    with pytest.raises(TypeError, match="no error code"):
        errors.SentiqError("something")
    sites = [node for path in (ROOT / "src" / "sentiq").rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
             and getattr(node.exc.func, "id", None) == "SentiqError"]
    assert not sites


@pytest.mark.parametrize("args", [
    ["predict", "no-model"],  # neither texts nor --input
    ["route", "--model", "zh", "--output", "out"],
])
def test_cli_usage_errors_carry_a_code_from_the_catalogue(args, tmp_path, monkeypatch):
    from sentiq.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "[E101]" in result.output and "E000" not in result.output and "Traceback" not in result.output
