"""Write hs/src/*.hs: the docs/WORKLOADS.md programs and their gradients, exported with pyaccad.

    python hs/regenerate.py

The workloads are defined here once, with pyaccad's combinators and NumPy-style
operators, at small example sizes, and exported shape-generic (``generic=True``): each module
reads its extents from its inputs' shapes and runs at any size, except the extents
its header names as fixed. Each
workload gives two modules: ``Workloads.<Name>`` (the primal, ``f``) and
``Workloads.<Name>Grad`` (``pyaccad.ad.grad`` of it with respect to the
parameters docs/WORKLOADS.md lists, an ordinary program exported the same way).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

import pyaccad as acc  # noqa: E402
from pyaccad.export import export_haskell  # noqa: E402
from pyaccad.export.syntax import literal_text  # noqa: E402
from pyaccad.frontend.pytree import flatten  # noqa: E402

RNG = np.random.default_rng(0)
# gmm sizes of the examples: all distinct, N apart from icf's width D(D+1)/2, and that width apart from
# 2D (icf's two slices of equal shape would let the optimiser share what other sizes keep apart), so
# that the shape-generic export gives each its own symbol (axes of equal example extents share one).
D, K, N = 4, 3, 5


def logsumexp(a, axis=-1):
    m = a.max(axis=axis, keepdims=True)
    return acc.log(acc.exp(a - m).sum(axis=axis)) + m.sum(axis=axis)


def elementwise(x):
    return (acc.sin(x) * x).sum()


def logsumexp_rows(a):
    return logsumexp(a, axis=1).sum()


def mlp(params, x, labels):
    (w1, b1), (w2, b2), (w3, b3) = params
    h1 = acc.tanh(x @ w1 + b1)
    h2 = acc.tanh(h1 @ w2 + b2)
    z = h2 @ w3 + b3
    picked = acc.generate((z.shape[0],), lambda i: z[i, labels[i]])
    return (logsumexp(z, axis=1) - picked).mean()


def gmm(alphas, means, icf, x):
    (n, d), k = x.shape, alphas.shape[0]
    q = icf[:, :d]

    def q_matrix(j, r, c):
        below = icf[j, d + r * (r - 1) // 2 + c]  # read only where r > c: cond's value branches are lazy
        return acc.cond(r == c, acc.exp(icf[j, r]), acc.cond(r > c, below, 0.0))

    qmat = acc.generate((k, d, d), q_matrix)
    diff = x[:, None, :] - means[None, :, :]  # N K D
    qd = (qmat[None, :, :, :] * diff[:, :, None, :]).sum(axis=3)  # N K D
    main = alphas[None, :] + q.sum(axis=1)[None, :] - 0.5 * (qd * qd).sum(axis=2)
    reg = 0.5 * ((acc.exp(q) ** 2.0).sum() + (icf[:, D:] ** 2.0).sum())
    return logsumexp(main, axis=1).sum() - n * logsumexp(alphas, axis=0) + reg - q.sum()


def _normal(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _mlp_params(sizes):
    return tuple(
        (_normal(m, n) / np.float32(np.sqrt(m)), np.zeros(n, np.float32))
        for m, n in zip(sizes, sizes[1:], strict=False)
    )


WORKLOADS = {
    "Elementwise": (elementwise, (RNG.uniform(-3, 3, 8).astype(np.float32),), 0),
    "LogsumexpRows": (logsumexp_rows, (_normal(4, 5),), 0),
    "Mlp": (mlp, (_mlp_params([6, 5, 5, 3]), _normal(4, 6), RNG.integers(0, 3, 4)), 0),
    "Gmm": (gmm, (_normal(K), _normal(K, D), 0.1 * _normal(K, D * (D + 1) // 2), _normal(N, D)), (0, 1, 2)),
}


def _inputs(args) -> list[np.ndarray]:
    leaves, _ = flatten(tuple(args))
    return [np.asarray(a) for a in leaves]


def _haskell_array(a: np.ndarray, indent: str) -> str:
    """``fromList (Z :. 4 :. 5) [...]`` with the values wrapped over lines."""
    shape = " :. ".join(["Z", *map(str, a.shape)])
    values = [literal_text(v, a.dtype) for v in a.reshape(-1).tolist()]
    rows = [", ".join(values[i : i + 8]) for i in range(0, len(values), 8)]
    return f"fromList ({shape})\n{indent}[ " + f"\n{indent}, ".join(rows) + f"\n{indent}]"


def main_module(entries: list[tuple[str, list[str], list[np.ndarray]]]) -> str:
    """Main.hs: run every exported function on its workload's example inputs with the chosen ``run``."""
    lines = [
        "-- | Runs the exported workloads on their example inputs. Written by hs/regenerate.py.",
        "{-# LANGUAGE CPP #-}",
        "module Main (main) where",
        "",
        "import Data.Array.Accelerate (Z (..), (:.) (..), fromList, use)",
        "#if defined(ACCELERATE_LLVM_PTX)",
        "import Data.Array.Accelerate.LLVM.PTX (run)",
        "#elif defined(ACCELERATE_LLVM_NATIVE)",
        "import Data.Array.Accelerate.LLVM.Native (run)",
        "#else",
        "import Data.Array.Accelerate.Interpreter (run)",
        "#endif",
        *[
            f"import Workloads.{function[0].upper()}{function[1:]}"
            for _, functions, _ in entries
            for function in functions
        ],
        "",
        "main :: IO ()",
        "main = do",
    ]
    for workload, functions, inputs in entries:
        names = [f"{workload}{k}" for k in range(len(inputs))]
        for name, array in zip(names, inputs, strict=True):
            lines.append(f"  let {name} = {_haskell_array(array, ' ' * 8)}")
        argument = names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"
        for function in functions:
            lines += [f'  putStrLn "{function}:"', f"  print (run ({function} (use {argument})))"]
    return "\n".join(lines) + "\n"


def main() -> None:
    from pyaccad import ad

    out = HERE / "src" / "Workloads"
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, (fn, args, argnums) in WORKLOADS.items():
        base = name[0].lower() + name[1:]
        programs = [(name, base, fn), (f"{name}Grad", f"{base}Grad", ad.grad(fn, argnums=argnums))]
        for module, function, program in programs:
            source = export_haskell(program, *args, module=f"Workloads.{module}", name=function, generic=True)
            (out / f"{module}.hs").write_text(source)
            print(f"wrote {out / module}.hs")
        entries.append((base, [base, f"{base}Grad"], _inputs(args)))
    (HERE / "src" / "Main.hs").write_text(main_module(entries))


if __name__ == "__main__":
    main()
