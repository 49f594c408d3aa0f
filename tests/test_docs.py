"""The documentation travels with the code and stays current: the configuration reference is
generated from nbw2v/config.py, every relative link resolves, every command is documented, and
nothing points outside the repository."""

import re
from pathlib import Path

import pytest

from nbw2v.app.cli import build_parser
from nbw2v.config import reference_markdown

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_configuration_reference_is_current():
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert reference_markdown() in text, "regenerate with: python -m nbw2v.config --write docs/configuration.md"
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


def test_the_reference_is_rewritten_in_place_not_appended(tmp_path):
    from nbw2v.config import GENERATED_MARKER, write_reference

    doc = tmp_path / "configuration.md"
    doc.write_text(f"# C\n\nintro\n\n{GENERATED_MARKER} -->\n\n### `data`\n\n| old | table |\n\nThe end.\n")
    for _ in range(2):
        write_reference(str(doc))
    text = doc.read_text()
    assert text.count("### `data`") == 1 and "| old | table |" not in text
    assert reference_markdown().rstrip() in text and text.startswith("# C\n\nintro") and text.endswith("The end.\n")


def test_the_readme_python_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {"print": lambda *a, **k: None})
