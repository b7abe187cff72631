"""The API reference (``docs/API.md``), generated from the docstrings of the public modules.

``python -m pyaccad.docs`` prints it; ``python -m pyaccad.docs --write`` rewrites ``docs/API.md``;
``tests/docs/test_api_reference.py`` fails when the file differs from what :func:`reference` makes, so
the reference cannot drift from the code. A public module joins the reference by joining
:data:`PUBLIC_MODULES`; its public names are its ``__all__``.

Each name gets its signature (without type hints, as ``docs/API.md`` has always written them), the first
paragraph of its docstring and the docstring's first ``>>>`` example. Names are grouped by the module
that defines them, headed by the first line of that module's docstring.

>>> text = reference()
>>> text.startswith("# API reference") and "#### `acc.fold(f, init, a, axis=-1)`" in text
True
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from pyaccad.ir.types import DTYPES

# (prefix used in the reference, module): the public modules, in the order the reference shows them.
PUBLIC_MODULES: list[tuple[str, str]] = [
    ("acc", "pyaccad"),
    ("ad", "pyaccad.ad"),
    ("nn", "pyaccad.nn"),
    ("jnp", "pyaccad.numpy"),
    ("linalg", "pyaccad.linalg"),
    ("dist", "pyaccad.distributed"),
]

# The order of the groups of a module's reference: from writing a program to running and exporting it.
# Names defined elsewhere follow, by module name; dtypes come last.
_GROUP_ORDER = [
    "pyaccad.frontend.combinators",
    "pyaccad.frontend.permutations",
    "pyaccad.frontend.shapes",
    "pyaccad.frontend.lambdas",
    "pyaccad.frontend.operators",
    "pyaccad.frontend.values",
    "pyaccad.api",
    "pyaccad.export.targets",
    "pyaccad.errors",
    "pyaccad.distributed.collectives",
    "pyaccad.distributed.parallel",
]

# Classes users receive but never construct: their constructor's signature is internal.
_NOT_CONSTRUCTED = {"pyaccad.frontend.values.Array", "pyaccad.frontend.values.Exp"}

_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")


def markdown(rst: str) -> str:
    """``rst`` (docstring markup) as Markdown: roles become code spans, double backquotes single ones.

    >>> markdown("see :func:`~pyaccad.ad.api.grad` and ``x + 1``")
    'see `grad` and `x + 1`'
    """
    text = _ROLE.sub(lambda m: "`" + (m[2].rsplit(".", 1)[-1] if m[1] else m[2]) + "`", rst)
    return text.replace("``", "`")


def first_paragraph(doc: str) -> str:
    """The first paragraph of a docstring, on one line.

    >>> first_paragraph("One line\\nand its end.\\n\\nMore.")
    'One line and its end.'
    """
    return " ".join(line.strip() for line in doc.strip().split("\n\n")[0].splitlines())


def first_example(doc: str) -> str:
    """The first ``>>>`` example of a docstring (its prompts and expected output), or ``""``.

    >>> first_example("Text.\\n\\n>>> 1 + 1\\n2\\n\\nMore.")
    '>>> 1 + 1\\n2'
    """
    lines = doc.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith(">>>")), None)
    if start is None:
        return ""
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(line.strip() if line.lstrip().startswith((">>>", "...")) else line for line in lines[start:end])


def signature(obj: Any) -> str:
    """``obj``'s parameters as a call is written: names and defaults, no type hints.

    >>> signature(lambda f, *xs, axis=-1: None)
    '(f, *xs, axis=-1)'
    """
    params = [p.replace(annotation=inspect.Parameter.empty) for p in inspect.signature(obj).parameters.values()]
    return str(inspect.Signature(params))


def _resolve(module: ModuleType, name: str) -> Any:
    """``module.name``, from the module that defines it where ``pyaccad`` resolves names lazily."""
    lazy = getattr(module, "_LAZY", {})
    return getattr(importlib.import_module(lazy[name]), name) if name in lazy else getattr(module, name)


def _home(obj: Any) -> str:
    if isinstance(obj, np.dtype):
        return "numpy"
    return getattr(obj, "__module__", None) or type(obj).__module__


def _entry(prefix: str, name: str, obj: Any, documented: dict[int, str]) -> list[str]:
    """The Markdown of one public name (and, for a class, of its public methods and properties)."""
    if isinstance(obj, np.dtype):
        return [f"#### `{prefix}.{name}`", "", f"The dtype `numpy.dtype({obj.name!r})`.", ""]
    doc = inspect.getdoc(obj if callable(obj) or isinstance(obj, type) else type(obj)) or ""
    if isinstance(obj, type) and issubclass(obj, BaseException):
        title = f"class {prefix}.{name}({obj.__mro__[1].__name__})"
    elif isinstance(obj, type):
        constructed = f"{obj.__module__}.{obj.__qualname__}" not in _NOT_CONSTRUCTED
        title = f"class {prefix}.{name}" + (signature(obj) if constructed else "")
    elif callable(obj):
        title = f"{prefix}.{name}{signature(obj)}"
    else:
        title = f"{prefix}.{name}"
    lines = [f"#### `{title}`", "", markdown(first_paragraph(doc)), ""]
    example = first_example(doc)
    if example:
        lines += ["```pycon", example, "```", ""]
    if isinstance(obj, type) and not issubclass(obj, BaseException):
        lines += _members(f"{prefix}.{name}", obj, documented)
    return lines


def _members(owner: str, cls: type, documented: dict[int, str]) -> list[str]:
    """The public methods and properties ``cls`` defines or inherits from pyaccad; each documented once."""
    lines: list[str] = []
    seen_elsewhere: set[str] = set()
    for name in sorted(dir(cls)):
        home = next((c for c in cls.__mro__ if name in c.__dict__), object)
        attr = home.__dict__[name]
        if home is object or not isinstance(attr, property | type(_members)) or not (attr.__doc__ or "").strip():
            continue
        if name.startswith("_") and ">>>" not in attr.__doc__:
            continue  # operators are documented by the class; dunders with examples are shown
        if id(attr) in documented:
            seen_elsewhere.add(documented[id(attr)])
            continue
        documented[id(attr)] = owner
        call = "" if isinstance(attr, property) else signature(attr).replace("(self, ", "(").replace("(self)", "()")
        doc = inspect.getdoc(attr) or ""
        lines += [f"##### `{owner}.{name}{call}`", "", markdown(first_paragraph(doc)), ""]
        example = first_example(doc)
        if example:
            lines += ["```pycon", example, "```", ""]
    if seen_elsewhere:
        lines += [f"Its methods and properties are those of {', '.join(f'`{o}`' for o in sorted(seen_elsewhere))}.", ""]
    return lines


def _group_rank(home: str) -> tuple[int, int, str]:
    return (home == "numpy", _GROUP_ORDER.index(home) if home in _GROUP_ORDER else len(_GROUP_ORDER), home)


def _group_title(home: str) -> str:
    if home == "numpy":
        return "dtypes"
    doc = inspect.getdoc(importlib.import_module(home)) or home
    return markdown(doc.splitlines()[0]).rstrip(".")


def module_reference(prefix: str, module_name: str) -> list[str]:
    """The Markdown of one public module: its names grouped by the module that defines them."""
    module = importlib.import_module(module_name)
    groups: dict[str, list[tuple[str, Any]]] = {}
    for name in module.__all__:
        obj = _resolve(module, name)
        groups.setdefault(_home(obj), []).append((name, obj))
    lines = [f"## `{prefix}`: `{module_name}`", "", markdown(first_paragraph(inspect.getdoc(module) or "")), ""]
    documented: dict[int, str] = {}
    for home in sorted(groups, key=_group_rank):
        lines += [f"### {_group_title(home)}" + (f" (`{home}`)" if home != "numpy" else ""), ""]
        for name, obj in groups[home]:
            lines += _entry(prefix, name, obj, documented)
    return lines


def _import_line(prefix: str, module: str) -> str:
    """``from pyaccad import ad``, or ``... as dist`` where the reference's prefix is not the module's name.

    >>> _import_line("dist", "pyaccad.distributed")
    'from pyaccad import distributed as dist'
    """
    parent, name = module.rsplit(".", 1)
    return f"from {parent} import {name}" + ("" if name == prefix else f" as {prefix}")


def reference() -> str:
    """The whole reference, as ``docs/API.md`` holds it."""
    imports = "\n".join(f"import {m} as {p}" if "." not in m else _import_line(p, m) for p, m in PUBLIC_MODULES)
    lines = [
        "# API reference",
        "",
        "<!-- Generated from the docstrings by `python -m pyaccad.docs --write`; do not edit by hand:",
        "     tests/docs/test_api_reference.py fails when this file differs from what the generator makes. -->",
        "",
        "Every public name of " + ", ".join(f"`{m}`" for _, m in PUBLIC_MODULES) + ", with its signature, the "
        "first paragraph of its docstring and its first example (`help(name)` has the rest). "
        "The examples run as doctests. Imported as:",
        "",
        "```python",
        "import numpy as np",
        imports,
        "```",
        "",
        "The [tutorial](tutorial.md) shows these names at work; [From JAX](from-jax.md) and"
        " [From accelerate and ad](from-accelerate-and-ad.md) map other libraries' names to them.",
        "",
        *CONVENTIONS,
    ]
    for prefix, module_name in PUBLIC_MODULES:
        lines += module_reference(prefix, module_name)
    return "\n".join(lines).rstrip("\n") + "\n"


# What holds for every name, said once (the entries below do not repeat it).
CONVENTIONS = [
    "## Conventions",
    "",
    "- **Values.** Outside a traced function: NumPy arrays and Python/NumPy scalars, in pytrees (nested"
    " tuples, lists and dicts), as in JAX; a Python list is a pytree, not an array. Inside: `acc.Array` (a"
    " traced array) and `acc.Exp` (a traced scalar, inside the functions given to `map`, `fold`,"
    " `generate`, ...). NumPy arrays met inside a traced function are embedded as constants (`acc.use`).",
    f"- **dtypes.** {', '.join(f'`{d}`' for d in DTYPES)}; arrays in non-native byte order are converted."
    " Python numbers (literals, arguments of"
    " jitted functions, `acc.fill` without a dtype) are weakly typed and take the dtype of the arrays they"
    " meet; element-wise operations and `@` on arrays of different dtypes promote as `jax.numpy` does"
    " (float32 with float64 is float64); convert explicitly with `acc.cast` or `.astype`.",
    "- **Shapes and axes.** Shapes are known when a function is traced; compiled kernels take extents as"
    " run-time arguments, so a new shape re-traces but rarely recompiles. Axis arguments default to the"
    " innermost axis, as in `accelerate`; negative axes count from the end.",
    "- **Where operations run.** The array operations (`acc.map`, `acc.sin`, ...) build programs: they"
    " work inside a function given to `acc.jit`, `acc.run` or a transform, and raise `acc.Error` outside"
    " one. The transforms of `ad` and `acc.run` run at once when called with NumPy values.",
    "- **Backends.** The `backend=` argument, else `$PYACCAD_BACKEND`, else `native`; one that cannot run"
    " here raises `acc.BackendUnavailable` with the reason.",
    "- **Errors.** Every error raised for bad use is an `acc.Error` subclass whose message names the"
    " operation, the shapes or dtypes involved and the line of user code that made the call.",
    "",
]


API_MD = Path(__file__).resolve().parent.parent / "docs" / "API.md"


def main(argv: list[str]) -> int:
    """Print the reference, or with ``--write`` rewrite ``docs/API.md`` (in a source checkout)."""
    text = reference()
    if "--write" in argv:
        if not API_MD.parent.is_dir():
            print(f"no {API_MD.parent}: --write needs a source checkout of pyaccad", file=sys.stderr)
            return 1
        API_MD.write_text(text, encoding="utf-8")
        print(f"wrote {API_MD}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
