"""Tokens of the exported Haskell, with the layout rule turned into explicit braces and semicolons.

Haskell's layout rule (Haskell 2010 report, §10.3) for the only layout keywords an
export uses, ``where`` (the module body) and ``let``: the column of the token after
the keyword opens a block; a line starting at that column starts a new item (``;``),
a line starting left of it closes the block (``}``). ``in`` closes the block of its
own ``let`` when no line did (the report's parse-error(t) rule, in the one case an
export needs it).

>>> [t.text for t in tokens("let a = 1\\n    b = 2\\nin a + b")]
['let', '{', 'a', '=', '1', ';', 'b', '=', '2', '}', 'in', 'a', '+', 'b', '<eof>']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import HsSyntaxError

KEYWORDS = {"let", "in", "where", "module", "import", "qualified", "as", "if", "then", "else", "case", "of", "do"}
RESERVED_OPS = {"=", "->", "\\", "::", "=>", "|", "@", "~"}
LAYOUT_KEYWORDS = {"let", "where"}  # `of` and `do` never appear in an export: the parser rejects them


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is var, con, int, float, op, special, keyword, or eof; ``line``/``col`` count from 1."""

    kind: str
    text: str
    line: int
    col: int

    def where(self) -> str:
        return f"line {self.line}, column {self.col}"


_PATTERNS = [
    ("space", r"[ \t]+"),
    ("newline", r"\r?\n"),
    ("pragma", r"\{-#.*?#-\}"),
    ("block_comment", r"\{-(?!#)"),
    ("line_comment", r"--+(?![!#$%&*+./<=>?@\\^|~:])[^\n]*"),
    ("float", r"\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+"),
    ("int", r"\d+"),
    ("qop", r"(?:[A-Z][\w']*\.)+[!#$%&*+./<=>?@\\^|~:-]+"),  # BLAS.<>
    ("var", r"(?:[A-Z][\w']*\.)*[a-z_][\w']*"),  # x, Bits.xor
    ("con", r"(?:[A-Z][\w']*\.)*[A-Z][\w']*"),
    ("op", r"[!#$%&*+./<=>?@\\^|~:-]+"),
    ("special", r"[()\[\],;`{}]"),
]
_LEXER = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS), re.S)


def raw_tokens(source: str) -> list[tuple[Token, bool]]:
    """The tokens of ``source``, each with whether it is the first on its line (comments dropped)."""
    out: list[tuple[Token, bool]] = []
    pos, line, line_start, first = 0, 1, 0, True
    while pos < len(source):
        match = _LEXER.match(source, pos)
        if match is None:
            raise HsSyntaxError(f"unknown character {source[pos]!r} at line {line}, column {pos - line_start + 1}")
        kind, text = match.lastgroup, match.group()
        if kind == "block_comment":
            end = _block_comment_end(source, pos, line)
            text = source[pos:end]
            match_end = end
        else:
            match_end = match.end()
        if kind == "newline":
            line, line_start, first = line + 1, match_end, True
        elif kind in ("space", "line_comment", "pragma", "block_comment"):
            newlines = text.count("\n")
            if newlines:
                line, line_start = line + newlines, pos + text.rindex("\n") + 1
        else:
            if kind == "var" and text in KEYWORDS:
                kind = "keyword"
            elif kind == "op" and text in RESERVED_OPS:
                kind = "reserved"
            out.append((Token(kind, text, line, pos - line_start + 1), first))
            first = False
        pos = match_end
    return out


def _block_comment_end(source: str, start: int, line: int) -> int:
    depth, pos = 0, start
    while pos < len(source):
        if source.startswith("{-", pos):
            depth, pos = depth + 1, pos + 2
        elif source.startswith("-}", pos):
            depth, pos = depth - 1, pos + 2
            if depth == 0:
                return pos
        else:
            pos += 1
    raise HsSyntaxError(f"unterminated block comment starting on line {line}")


def tokens(source: str) -> list[Token]:
    """``source`` as tokens with the layout made explicit (``{``, ``;``, ``}``), ending with ``<eof>``."""
    raw = raw_tokens(source)
    out: list[Token] = []
    contexts: list[int] = []  # columns of the open implicit blocks
    lets: list[int | None] = []  # for each `let` not yet matched by `in`: the depth of its block, None once closed
    open_block_next = False
    for token, first in raw:
        if open_block_next:
            open_block_next = False
            contexts.append(token.col)
            out.append(Token("special", "{", token.line, token.col))
            if lets and lets[-1] == -1:
                lets[-1] = len(contexts)
        elif first:
            while contexts and token.col < contexts[-1]:
                _close(out, contexts, lets, token)
            if contexts and token.col == contexts[-1] and token.text != "in":
                out.append(Token("special", ";", token.line, token.col))
        if token.text == "in" and token.kind == "keyword":
            if not lets:
                raise HsSyntaxError(f"'in' without 'let' at {token.where()}")
            depth = lets.pop()
            if depth is not None and depth == len(contexts):
                contexts.pop()
                out.append(Token("special", "}", token.line, token.col))
        out.append(token)
        if token.kind == "keyword" and token.text in LAYOUT_KEYWORDS:
            open_block_next = True
            if token.text == "let":
                lets.append(-1)
    end = raw[-1][0] if raw else Token("eof", "", 1, 1)
    while contexts:
        _close(out, contexts, lets, end)
    out.append(Token("eof", "<eof>", end.line + 1, 1))
    return out


def _close(out: list[Token], contexts: list[int], lets: list[int | None], at: Token) -> None:
    """Close the innermost block; a `let` whose block this was is then waiting only for its `in`."""
    for k in range(len(lets) - 1, -1, -1):
        if lets[k] == len(contexts):
            lets[k] = None
            break
    contexts.pop()
    out.append(Token("special", "}", at.line, at.col))
