"""Every Markdown file links only to files of the repository, and nothing points outside it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from mdfiles import ROOT, links, markdown_files

FILES = markdown_files()


def broken_links(path: Path, root: Path) -> list[str]:
    """The relative link targets of the Markdown file ``path`` that are not files or folders under ``root``."""
    broken = []
    for target in links(path.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue  # web links, and anchors in the same file (anchors are not checked)
        resolved = (path.parent / unquote(target.split("#", 1)[0])).resolve()
        if not resolved.is_relative_to(root) or not resolved.exists():
            broken.append(target)
    return broken


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_relative_links_resolve_inside_the_repository(path: Path) -> None:
    assert broken_links(path, ROOT) == [], f"{path.relative_to(ROOT)} links to paths that are not in the repository"


def test_the_docs_are_all_checked() -> None:
    names = {str(p.relative_to(ROOT)) for p in FILES}
    assert {"README.md", "docs/API.md", "docs/tutorial.md", "docs/AD.md", "docs/WORKLOADS.md"} <= names


def test_links_are_found_and_code_is_not_a_link() -> None:
    text = "[a](docs/x.md) ![i](img.png) `[c](code.md)`\n```\n[d](block.md)\n```\n[r]: ref.md\n"
    assert links(text) == ["docs/x.md", "img.png", "ref.md"]


def test_broken_links_are_reported(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "there.md").write_text("# there\n")
    (tmp_path / "outside.md").write_text("# outside the repository\n")
    page = repo / "docs" / "page.md"
    page.write_text(
        "[ok](there.md) [ok too](there.md#there) [up](../docs/) [web](https://example.org/x.md) [self](#top)\n"
        "[missing](gone.md) [outside](../../outside.md)\n"
    )
    assert broken_links(page, repo) == ["gone.md", "../../outside.md"]


# Text that sent readers outside the repository (the design notes of the sessions that built it).
OUTSIDE = ("../shared/", "shared/design/", "shared/bench/")
TEXT_SUFFIXES = {".md", ".py", ".sh", ".toml", ".hs", ".cabal", ".yaml", ".txt", ".cfg"}


def test_no_file_points_outside_the_repository() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if path.suffix not in TEXT_SUFFIXES or path == Path(__file__) or not path.is_file():
            continue
        if any(part.startswith(".") or part in {"mutants", "build", "dist"} for part in rel.parts[:-1]):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{rel}: {s}" for s in OUTSIDE if s in text]
    assert offenders == []
