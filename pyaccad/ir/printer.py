"""A readable text form of programs (what ``acc.lower`` shows).

Variables are named after their hints (the user's argument names) or by
letters in binding order; nested lambdas and bodies are indented under the
statement that holds them.

>>> import numpy as np, pyaccad as acc
>>> print(acc.lower(lambda x: acc.sin(x), np.zeros(3, np.float32), backend="interp"))  # doctest: +ELLIPSIS
program (x: f32[3]) {
  ...sin x
} -> (...)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyaccad.ir.core import Atom, Lit, Program, Stmt, Var


class _Namer:
    def __init__(self) -> None:
        self.names: dict[Var, str] = {}
        self.used: set[str] = set()
        self.counter = 0

    def bind(self, var: Var) -> str:
        if var in self.names:
            return self.names[var]
        base = var.hint or ""
        name = base if base and base not in self.used else ""
        while not name:
            candidate = _letters(self.counter) if not base else f"{base}{self.counter}"
            self.counter += 1
            if candidate not in self.used:
                name = candidate
        self.used.add(name)
        self.names[var] = name
        return name

    def atom(self, atom: Atom) -> str:
        if isinstance(atom, Lit):
            return f"extent:{atom.value!r}" if atom.from_extents else repr(atom.value)
        return self.names.get(atom) or f"<free {atom.hint}{atom.id}>"


def _letters(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(ord("a") + r) + s
    return s


def _param_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<{value.dtype}{list(value.shape)}>" if value.size > 4 else np.array2string(value, separator=",")
    if isinstance(value, np.dtype):
        return str(value)
    return repr(value)


def _lines(prog: Program, namer: _Namer, indent: str, header: str) -> list[str]:
    ins = ", ".join(f"{namer.bind(v)}: {v.type}" for v in prog.inputs)
    out = [f"{indent}{header} ({ins}) {{"]
    for stmt in prog.stmts:
        out.extend(_stmt_lines(stmt, namer, indent + "  "))
    outs = ", ".join(namer.atom(a) for a in prog.outputs)
    out.append(f"{indent}}} -> ({outs})")
    return out


def _stmt_lines(stmt: Stmt, namer: _Namer, indent: str) -> list[str]:
    subs = set(stmt.prim.subprogram_params)
    plain = {k: v for k, v in stmt.params.items() if k not in subs}
    param_text = "[" + ", ".join(f"{k}={_param_text(v)}" for k, v in plain.items()) + "]" if plain else ""
    args = " ".join(namer.atom(a) for a in stmt.args)
    lhs = ", ".join(f"{namer.bind(v)}: {v.type}" for v in stmt.outs)
    lines = [f"{indent}{lhs} = {stmt.prim.name}{param_text} {args}".rstrip()]
    for name in stmt.prim.subprogram_params:
        sub = stmt.params.get(name)
        if sub is not None:
            lines.extend(_lines(sub, namer, indent + "    ", name))
    return lines


def pprint(prog: Program) -> str:
    """The program as text, one statement per line."""
    return "\n".join(_lines(prog, _Namer(), "", "program"))
