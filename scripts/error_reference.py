"""Print (or, with --write, refresh in README.md) the error table; a test keeps them in sync."""

import sys
from pathlib import Path

from sentiq.errors import reference_markdown

START, END = "<!-- error-reference:start -->", "<!-- error-reference:end -->"

if __name__ == "__main__":
    if "--write" in sys.argv:
        readme = Path(__file__).resolve().parents[1] / "README.md"
        text = readme.read_text(encoding="utf-8")
        head, rest = text.split(START)
        _, tail = rest.split(END)
        readme.write_text(f"{head}{START}\n{reference_markdown()}\n{END}{tail}", encoding="utf-8")
    else:
        print(reference_markdown())
