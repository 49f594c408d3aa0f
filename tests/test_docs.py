"""The documentation travels with the code and stays current: the configuration reference is
generated from nbw2v/config.py, every relative link resolves, every command is documented, and
nothing points outside the repository."""

import re
from pathlib import Path

import pytest

from nbw2v.cli import build_parser
from nbw2v.config import reference_markdown

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_configuration_reference_is_current():
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert reference_markdown() in text, "regenerate with: python -m nbw2v.config (into docs/configuration.md)"
    assert text.count("## Every key") == 1 and text.count("### `data`") == 1  # once, not appended again


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve_and_stay_inside_the_repository(page):
    text = page.read_text()
    assert "../shared" not in text and "MATH" + ".md" not in text
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_every_command_is_documented():
    text = (ROOT / "docs" / "cli.md").read_text()
    subcommands = build_parser()._subparsers._group_actions[0].choices
    for name in subcommands:
        assert f"`nbw2v {name}" in text, name
