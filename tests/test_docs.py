"""The docs hold together: every relative link in README.md and docs/*.md points at a file that exists (and,
with an anchor, at a heading of it), every module of src/sentiq is named in docs/architecture.md, and the
README's command table lists every CLI command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    heads = re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def _links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))


def _pending(target: Path) -> bool:
    """docs/errors.md is written from the error catalogue; until it exists the README carries the table itself."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return target == ROOT / "docs" / "errors.md" and "<!-- error-reference:start -->" in readme


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    bad = []
    for link in _links(page):
        if re.match(r"[a-z]+:", link):  # http(s), mailto: not checked (no network)
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            if not _pending(target):
                bad.append(f"{link}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            bad.append(f"{link}: no heading #{anchor} in {target.name}")
    assert not bad, f"{page.name}: {bad}"


def test_anchor_rule_matches_github():
    page = ROOT / "docs" / "training.md"
    assert "domain-adaptive-pre-training-and-distillation" in _anchors(page)
    assert "a-larger-english-encoder-all-mpnet-base-v2-fetched-on-request" in _anchors(ROOT / "docs" / "approaches.md")


def test_architecture_names_every_module():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    src = ROOT / "src" / "sentiq"
    missing = []
    for path in sorted(src.rglob("*.py")):
        name = path.relative_to(src).as_posix()
        if f"`{name}`" not in text:
            missing.append(name)
    assert not missing, f"docs/architecture.md does not name: {missing}"


def test_readme_command_table_lists_every_command():
    from sentiq.cli import app

    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    for group in app.registered_groups:
        commands += [f"{group.name} {c.name or c.callback.__name__}" for c in group.typer_instance.registered_commands]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `sentiq ")]
    listed = {re.match(r"\| `sentiq ([^`]+)`", line).group(1) for line in table}
    assert set(commands) == listed, (set(commands) - listed, listed - set(commands))
    assert all(len(line.split("|")) == 5 and "](docs/" in line for line in table)  # one line each, with its page


def test_readme_fits_a_few_screens():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = (
        text.split("<!-- error-reference:start -->")[1].split("<!-- error-reference:end -->")[0]
        if "<!-- error-reference:start -->" in text
        else ""
    )
    assert len(text.splitlines()) - len(table.splitlines()) <= 150


def test_training_page_lists_every_shipped_config():
    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted((ROOT / "configs").glob("*.yaml")) if f"`configs/{p.name}`" not in text]
    assert not missing, f"docs/training.md's shipped configs table does not list: {missing}"
