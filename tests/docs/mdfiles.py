"""Reading the repository's Markdown: its files, its links and its code blocks (shared by the docs tests)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Folders that are not the repository's own text: version control, virtual environments, build outputs.
_NOT_OURS = {"node_modules", "build", "dist", "mutants", "dist-newstyle"}

_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)


def markdown_files() -> list[Path]:
    """Every Markdown file of the repository (hidden folders and build outputs left out)."""
    return sorted(
        path
        for path in ROOT.rglob("*.md")
        if not any(part.startswith(".") or part in _NOT_OURS for part in path.relative_to(ROOT).parts[:-1])
    )


def links(text: str) -> list[str]:
    """The targets of the inline and reference links of ``text``, outside code blocks and code spans."""
    prose = _INLINE_CODE.sub("", _FENCE.sub("", text))
    return _LINK.findall(prose) + _REFERENCE.findall(prose)


@dataclass(frozen=True)
class Block:
    """A fenced ``python`` block, with the ``text`` block that follows it (its expected output), if any."""

    source: str
    line: int
    expected_output: str | None


def python_blocks(text: str) -> list[Block]:
    """The ``python`` blocks of ``text`` in order; a ``text`` block right after one is what it prints."""
    fences = list(_FENCE.finditer(text))
    blocks = []
    for i, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        after = fences[i + 1] if i + 1 < len(fences) else None
        follows = after is not None and after.group(1) == "text" and not text[fence.end() : after.start()].strip()
        line = text.count("\n", 0, fence.start()) + 2
        blocks.append(Block(fence.group(2), line, after.group(2) if follows else None))
    return blocks
