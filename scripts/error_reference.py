"""Print (or, with --write, refresh docs/errors.md) the error reference; tests/test_errors.py keeps them in sync."""

import sys
from pathlib import Path

from sentiq.errors import reference_markdown

if __name__ == "__main__":
    if "--write" in sys.argv:
        (Path(__file__).resolve().parents[1] / "docs" / "errors.md").write_text(reference_markdown(), encoding="utf-8")
    else:
        print(reference_markdown(), end="")
