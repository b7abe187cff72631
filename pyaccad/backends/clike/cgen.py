"""The C emitter's state: output lines, names, run-time extents, buffers and scoped memo tables.

Kernels are *generic in extents*: every integer derived from a shape (array
extents, slice bounds, ...) is read from the run-time array ``E`` instead of
being written into the source, so a program traced again at a new batch size
produces the same C text and reuses the compiled library. :meth:`Ctx.ext`
allocates an ``E`` slot and records this trace's value for it; slots are
allocated in the (structural) order of code generation.

An :class:`Index` names one element of an array of run-time extents: its
per-axis indices and, where known, its row-major flat position.

>>> ctx = Ctx()
>>> ctx.ext(7), ctx.ints
('E[0]', [7])
>>> c_literal(0.5, np.dtype("float32"))
'((float)0.5)'
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyaccad.errors import IndexOutOfBounds, out_of_bounds
from pyaccad.ir import BOOL, FLOAT16, FLOAT32, FLOAT64, FLOAT_DTYPES, INT_DTYPES, Lit, Stmt, Var
from pyaccad.ir.types import is_int, is_unsigned


@dataclass(frozen=True)
class OutOfBounds:
    """A run-time bounds check of the generated C: ``what`` reads or writes an array of ``shape`` at ``source``.

    On failure the generated code records the offending multi-index (``PA_FAIL_AT``, each backend's prelude), which
    :meth:`error` puts into the message the interpreter would give.

    >>> print(OutOfBounds("backpermute", (4, 3), "f.py:2: b = g(a)").error((1, -1)))
    backpermute: index (1, -1) is out of bounds for an array of shape (4, 3): -1 is outside axis 1 (0 to 2)
      at f.py:2: b = g(a)
    """

    what: str
    shape: tuple[int, ...]
    source: str | None

    def error(self, point: tuple[int, ...]) -> IndexOutOfBounds:
        return out_of_bounds(self.what, point, self.shape, self.source)


ZERO = "((int64_t)0)"
"""Index 0, typed: an index may reach a lambda (a ``generate``'s, a ``backpermute``'s), where C++ overloads need
its type (``PYACCAD_MIN(0, i)`` would be ambiguous in CUDA) and C's ``_Generic`` would take a bare 0 for int32."""

ORDER_SHIFT = 40
"""Failures inside a native loop's region are ordered by kernel, then position: ``order << ORDER_SHIFT`` plus the
position (an array has fewer than 2⁴⁰ elements; the position is never shown)."""

HALF = "pa_half"
"""The C type of float16 elements, which each prelude defines: stored as half, computed in float
(:func:`~pyaccad.backends.clike.element.apply_elementwise`)."""

CTYPE = {
    dtype: HALF if dtype == FLOAT16 else "float" if dtype == FLOAT32 else "double" if dtype == FLOAT64 else "bool"
    for dtype in (*FLOAT_DTYPES, BOOL)
} | {dtype: f"{'u' if is_unsigned(dtype) else ''}int{8 * dtype.itemsize}_t" for dtype in INT_DTYPES}
"""The C (and CUDA C++) type of each dtype's elements."""


def extent_load(slot: int) -> str:
    """Slot ``slot`` of the run-time integers, read from ``E``: :attr:`Ctx.extent` unless a backend says otherwise."""
    return f"E[{slot}]"


def c_literal(value: Any, dtype: np.dtype) -> str:
    """A C expression of type ``CTYPE[dtype]`` for a Python number.

    >>> c_literal(255, np.dtype("uint8")), c_literal(-2**63, np.dtype("int64")), c_literal(0.5, np.dtype("float16"))
    ('((uint8_t)255ULL)', '((int64_t)(-9223372036854775807LL-1))', '((pa_half)0.5)')
    """
    if dtype == BOOL:
        return "((bool)1)" if value else "((bool)0)"
    if is_int(dtype):
        v = int(value)
        body = f"({v + 1}LL-1)" if v == -(2**63) else f"{v}ULL" if is_unsigned(dtype) else f"{v}LL"
        return f"(({CTYPE[dtype]}){body})"
    v = float(value)
    if math.isnan(v):
        body = "NAN"
    elif math.isinf(v):
        body = "INFINITY" if v > 0 else "(-INFINITY)"
    else:
        body = repr(v)
    return f"(({CTYPE[dtype]}){body})"


@dataclass
class Index:
    """One element of an array with extents ``shape``: per-axis indices, and the flat position if known."""

    multi: list[str]
    shape: list[str]
    flat: str | None = None

    def linear(self) -> str:
        if self.flat is not None:
            return self.flat
        if not self.multi:
            return "0"
        expr = self.multi[0]
        for i, n in zip(self.multi[1:], self.shape[1:], strict=True):
            expr = f"({expr}*{n}+{i})"
        return expr

    def key(self) -> tuple:
        return ("flat", self.flat) if self.flat is not None else ("multi", tuple(self.multi))


class Ctx:
    """Everything the generation of one C source file shares."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.indent = 1
        self.ints: list[int] = []
        self.counter = 0
        self.shapes: dict[Var, list[int]] = {}  # each array's extents: their slots of E
        # slot n of E as C: `E[n]`; the native generator writes a loop's as locals its function declares (outline.py)
        self.extent: Callable[[int], str] = extent_load
        self.buffers: dict[Var, str] = {}
        self.delayed: dict[Var, Stmt] = {}
        # pads known to read inside (True) or their value (False) in the loop being emitted (native/interior.py)
        self.known_pads: dict[Stmt, bool] = {}
        self.in_loop = False  # emitting a plan run once per trip of a `while` (native: small loops run in tiles)
        # emitting the lines of a `while`, a host-side one or a lambda's, which run again and again (:meth:`repeating`)
        self.repeating_lines = False
        self.region = False  # native: inside one `omp parallel` around a whole loop (native/region.py)
        # native: emitting a loop's body outside such a region, where a parallel loop guarded by an `if` clause gets a
        # serial copy, or is only that (native/region.py: parallel_if)
        self.serial_copies = False
        # native, in such a region: the line closing the body of the last `omp single` and that body's depth, while
        # nothing but closing braces followed it (:meth:`single`; native/control.py's `once` appends there)
        self.single_end: tuple[int, int] | None = None
        # native, in such a region: the kernel's place in the trip, which orders failures before their positions
        self.kernel_order = 0
        self.errors: list[str] = []
        self.scopes: list[dict[Any, Any]] = [{}]
        self.helpers: set[str] = set()
        self.prologue: list[str] = []  # declarations at the top of the entry function
        # arrays held one row at a time (a thread's row buffer, :mod:`.rows`): flat position -> minus this offset
        self.row_offsets: dict[Var, str] = {}
        self.simd_flags: list[dict[int, str]] = []  # per enclosing `omp simd` loop: error id -> its flag
        self.cold_checks: dict[str, str] = {}  # a check's line in an `omp simd` loop -> its line in the rescan
        self.record_rank = 0  # the largest rank of an array a bounds check guards (the error record holds its index)
        self.op = ""  # the collective operation whose lambda is being emitted, for error messages
        self.position = "0"  # C: the flat position of the element that lambda computes (which failure is first)
        # 32 when every array of the program has fewer than 2**31 elements (a GPU divides 32-bit integers several
        # times faster than 64-bit ones, which it emulates): :func:`unravel` then splits positions in 32 bits
        self.index_bits = 64

    # -- names and run-time integers ------------------------------------------------------------
    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def slot(self, value: int) -> int:
        """A new slot of ``E``, holding ``value`` at run time."""
        self.ints.append(int(value))
        return len(self.ints) - 1

    def ext(self, value: int) -> str:
        """An ``E`` slot holding ``value`` at run time (never a literal in the source), as C (:attr:`extent`)."""
        return self.extent(self.slot(value))

    def float_lit(self, value: float, dtype: np.dtype) -> str:
        """A float literal read from ``E`` at run time (its IEEE bits): traced constants such as a mean's ``1/N``
        then leave the source, and so the compiled library, the same for every batch size.

        One slot per use, in code generation order, so the slots are structural whatever the values. Declared
        in :attr:`prologue`, at the top of a function: read from ``E`` itself.
        """
        bits = struct.unpack("<q", struct.pack("<d", float(value)))[0]
        slot = extent_load(self.slot(bits))
        name = self.fresh("L")
        self.prologue.append(f"    const {CTYPE[dtype]} {name} = ({CTYPE[dtype]})pa_f64_bits({slot});")
        return name

    def extent_slots(self, var: Var) -> list[int]:
        """The slots of ``E`` holding ``var``'s extents (made on first use)."""
        if var not in self.shapes:
            self.shapes[var] = [self.slot(n) for n in var.shape]
        return self.shapes[var]

    def shape(self, var: Var) -> list[str]:
        """``var``'s extents as C (:meth:`extent_slots` through :attr:`extent`)."""
        return [self.extent(n) for n in self.extent_slots(var)]

    def element(self, var: Var, position: str) -> str:
        """``buffer[position]`` for a manifest array: the C lvalue of its element at flat ``position``.

        >>> from pyaccad.ir import ArrayType, FLOAT32
        >>> ctx, v = Ctx(), Var(ArrayType(FLOAT32, (4, 8)))
        >>> ctx.buffers[v] = "b1"
        >>> ctx.element(v, "f"), ctx.row_offsets.update({v: "o * 8"}), ctx.element(v, "f")
        ('b1[f]', None, 'b1[(f) - (o * 8)]')
        """
        offset = self.row_offsets.get(var)
        return f"{self.buffers[var]}[{position if offset is None else f'({position}) - ({offset})'}]"

    def size(self, var: Var) -> str:
        return product(self.shape(var))

    def error(self, message: str | OutOfBounds) -> int:
        """An error id (> 0) the C code sets in ``err``; the runtime raises with ``message``."""
        self.errors.append(message)
        return len(self.errors)

    def check_bounds(self, what: str, array: Var, indices: list[str], source: str | None) -> str:
        """Declare and return a flag: whether ``indices`` lie inside ``array``; unless they do, the entry fails.

        The failure records ``indices`` (:meth:`fail_unless`), so the error names them, ``what`` and ``source``.
        """
        flag = self.declare(BOOL, in_bounds(indices, self.shape(array)), "ok")
        if indices:  # a rank-0 array's one element is always there
            self.record_rank = max(self.record_rank, len(indices))
            self.fail_unless(flag, self.error(OutOfBounds(what, array.shape, source)), indices)
        return flag

    # -- output -----------------------------------------------------------------------------------
    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)
        self.single_end = None

    def declare(self, dtype: np.dtype, expr: str, prefix: str = "v") -> str:
        name = self.fresh(prefix)
        self.emit(f"const {CTYPE[dtype]} {name} = {expr};")
        return name

    @contextmanager
    def block(self, header: str = "") -> Iterator[None]:
        """A C block ``header { ... }`` with its own memo scope (values computed inside stay inside)."""
        self.emit(f"{header} {{".strip())
        self.indent += 1
        self.scopes.append({})
        try:
            yield
        finally:
            self.scopes.pop()
            self.indent -= 1
            self.lines.append("    " * self.indent + "}")  # not :meth:`emit`: a `single` it closes stays the last

    @contextmanager
    def single(self) -> Iterator[None]:
        """A block under ``#pragma omp single`` (one thread of a parallel region runs it; a barrier follows). Until
        something other than a closing brace follows it, :attr:`single_end` says where its body ends.

        >>> ctx = Ctx()
        >>> with ctx.block(), ctx.single():
        ...     ctx.emit("x[0] = 1;")
        >>> ctx.single_end, ctx.lines[4]
        ((4, 3), '        }')
        >>> ctx.emit("y = x[0];")
        >>> ctx.single_end is None
        True
        """
        self.emit("#pragma omp single")
        with self.block():
            yield
        self.single_end = (len(self.lines) - 1, self.indent + 1)

    @contextmanager
    def simd_block(self, header: str) -> Iterator[None]:
        """``#pragma omp simd`` and a block ``header { ... }`` (a loop whose iterations are independent).

        Run-time checks inside (:meth:`fail_unless`) set a flag that the loop reduces with ``|``, tested
        after it: a branch to the error inside the loop would keep it from vectorising. Only when a flag is
        set does a cold copy of the loop run, without ``omp simd``, where each check records its index
        (``PA_FAIL_AT``): the copy repeats the loop's work, which is safe as the result is discarded.

        >>> ctx = Ctx()
        >>> with ctx.simd_block("for (int64_t j = 0; j < n; j++)"):
        ...     ctx.fail_unless("ok", ctx.error("index out of bounds"), ["k"])
        >>> for line in ctx.lines:
        ...     print(line.strip())
        int64_t bad1 = 0;
        #pragma omp simd reduction(|:bad1)
        for (int64_t j = 0; j < n; j++) {
        bad1 |= !ok;
        }
        if (__builtin_expect(bad1, 0)) {  /* cold: run again to record the failing index */
        for (int64_t j = 0; j < n; j++) {
        if (!ok) PA_FAIL_AT(1, 0, k);
        }
        }
        """
        lines, at = self.lines, len(self.lines)
        self.emit("#pragma omp simd")
        flags: dict[int, str] = {}
        self.simd_flags.append(flags)
        try:
            with self.block(header):
                yield
        finally:
            self.simd_flags.pop()
        if not flags:
            return
        loop = lines[at + 1 :]
        lines[at] += f" reduction(|:{', '.join(flags.values())})"
        indent = "    " * self.indent
        # 64-bit flags: gcc vectorises with as many lanes as the narrowest type in the loop has in a vector, and
        # an `int` flag in a loop of doubles made that 16 (two vectors per double operation): a loop of 14
        # elements then never entered its vector body (the LSTM's trips)
        lines[at:at] = [f"{indent}int64_t {name} = 0;" for name in flags.values()]
        any_bad = " | ".join(flags.values())
        self.emit(f"if (__builtin_expect({any_bad}, 0)) {{  /* cold: run again to record the failing index */")
        lines.extend("    " + self.cold_checks.pop(line, line) for line in loop)
        self.emit("}")

    def fail_unless(self, ok: str, error: int, indices: list[str]) -> None:
        """Emit a run-time check: unless ``ok`` holds, the entry records ``indices`` and returns ``error``.

        Of several failures the record keeps the one at the smallest :attr:`position`, the interpreter's first
        (whatever the threads' timing). Inside an ``omp simd`` loop the check only sets a flag;
        :meth:`simd_block` records the index.
        """
        position = self.position
        if self.kernel_order:  # a kernel after a failure still runs in that trip: its failures come later
            position = f"(((int64_t){self.kernel_order} << {ORDER_SHIFT}) + {position})"
        fail = f"if (!{ok}) PA_FAIL_AT({', '.join([str(error), position, *indices])});"
        if not self.simd_flags:
            self.emit(fail)
            return
        flag = self.simd_flags[-1].setdefault(error, self.fresh("bad"))
        self.emit(f"{flag} |= !{ok};")
        assert self.lines[-1] not in self.cold_checks, "a check's flag line must be unique: its `ok` is a fresh name"
        self.cold_checks[self.lines[-1]] = "    " * self.indent + fail

    @contextmanager
    def inside(self, op: str | None, position: str | None) -> Iterator[None]:
        """Emit a lambda of the collective operation ``op`` computing the element at flat ``position`` (C), for
        error messages; None keeps the enclosing lambda's (a ``cond`` branch, a loop body)."""
        saved = self.op, self.position
        self.op, self.position = op or self.op, position or self.position
        try:
            yield
        finally:
            self.op, self.position = saved

    @contextmanager
    def repeating(self) -> Iterator[None]:
        """Emit the lines of a loop, which run again and again, reading the run-time integers again each time:
        :attr:`extent` may write them otherwise there (the native backend, as locals gcc can hoist)."""
        saved, self.repeating_lines = self.repeating_lines, True
        try:
            yield
        finally:
            self.repeating_lines = saved

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        """Collect the lines emitted inside into a separate list (for prologues written later)."""
        saved, indent, single_end = self.lines, self.indent, self.single_end
        self.lines = []
        try:
            yield self.lines
        finally:
            self.lines, self.indent, self.single_end = saved, indent, single_end

    # -- scoped memo: lambda-bound scalars and delayed elements already computed ------------------
    def lookup(self, key: Any) -> Any:
        for scope in reversed(self.scopes):
            if key in scope:
                return scope[key]
        return None

    def remember(self, key: Any, value: Any) -> None:
        self.scopes[-1][key] = value

    def bind(self, var: Var | Lit, expr: str) -> None:
        if isinstance(var, Var):
            self.remember(var, expr)


def product(exprs: list[str]) -> str:
    """The C product of extents (``1`` for none)."""
    return "*".join(f"{e}" for e in exprs) if exprs else "((int64_t)1)"


def in_bounds(indices: list[str], shape: list[str]) -> str:
    """The C condition that every index lies in ``[0, extent)`` (one unsigned comparison each).

    The comparisons are joined with ``&``, not ``&&``: every one is evaluated, so no extent is read
    conditionally. Inside a vector loop a short-circuit read of ``E[k]`` became a masked load of one address,
    which gcc cannot vectorise, and the whole loop ran scalar (an element loop of the LSTM's trip, with a
    ``backpermute`` of a row).

    >>> in_bounds(["i", "j"], ["E[0]", "E[1]"]), in_bounds([], [])
    ('(uint64_t)i < (uint64_t)E[0] & (uint64_t)j < (uint64_t)E[1]', '1')
    """
    return " & ".join(f"(uint64_t){i} < (uint64_t){n}" for i, n in zip(indices, shape, strict=True)) or "1"


def unravel(ctx: Ctx, flat: str, shape: list[str]) -> list[str]:
    """Declare the per-axis indices of row-major position ``flat`` in ``shape`` (unused ones are dead code).

    With ``ctx.index_bits == 32`` the divisions are unsigned 32-bit ones (positions and extents then fit).

    >>> ctx = Ctx()
    >>> ctx.index_bits = 32
    >>> unravel(ctx, "w", ["E[0]", "E[1]"]), ctx.lines[0].strip()
    (['q1', 'q2'], 'const uint32_t r3 = (uint32_t)(w);')
    """
    if len(shape) <= 1:
        return [flat] if shape else []
    # the indices themselves stay 64-bit and signed: callers subtract from them (stencil neighbours)
    kind, cast = ("uint32_t", "(uint32_t)") if ctx.index_bits == 32 else ("int64_t", "")
    names = [ctx.fresh("q") for _ in shape]
    rest = flat
    if cast:
        rest = ctx.fresh("r")
        ctx.emit(f"const {kind} {rest} = {cast}({flat});")
    for axis in range(len(shape) - 1, 0, -1):
        ctx.emit(f"const int64_t {names[axis]} = {rest} % {cast}{shape[axis]};")
        nxt = ctx.fresh("r")
        ctx.emit(f"const {kind} {nxt} = {rest} / {cast}{shape[axis]};")
        rest = nxt
    ctx.emit(f"const int64_t {names[0]} = {rest};")
    return names
