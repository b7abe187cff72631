"""The ``python`` blocks of every Markdown file run, in order, in one namespace per file (the guides'
blocks assert their results against NumPy).

A ``text`` block right after a ``python`` block is what that block prints (the IR listings of
``docs/AD.md``): it must match exactly, so the listings are what pyaccad prints today.
"""

from __future__ import annotations

import contextlib
import io
import os

import pytest
from mdfiles import ROOT, markdown_files, python_blocks

WITH_CODE = [str(p.relative_to(ROOT)) for p in markdown_files() if python_blocks(p.read_text(encoding="utf-8"))]
GUIDES = ["README.md", "docs/tutorial.md", "docs/AD.md", "docs/from-jax.md", "docs/from-accelerate-and-ad.md"]


def test_the_guides_have_code_that_runs() -> None:
    assert set(GUIDES) <= set(WITH_CODE)


@pytest.mark.parametrize("name", WITH_CODE)
def test_python_blocks_run(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("PYACCAD_BACKEND", raising=False)  # the guides show the default backend
    monkeypatch.chdir(tmp_path)  # files a block writes stay out of the checkout
    path = ROOT / name
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": f"docs_{os.path.splitext(os.path.basename(name))[0]}"}
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block.source, f"{name}:{block.line}", "exec"), namespace)  # noqa: S102
        if block.expected_output is not None:
            assert out.getvalue() == block.expected_output, f"{name}:{block.line} printed something else"


def test_output_blocks_pair_with_the_python_block_before_them() -> None:
    text = "```python\nprint(1)\n```\n\n```text\n1\n```\n```python\nx = 2\n```\nprose\n```text\nnot output\n```\n"
    blocks = python_blocks(text)
    assert [(b.source, b.expected_output) for b in blocks] == [("print(1)\n", "1\n"), ("x = 2\n", None)]
