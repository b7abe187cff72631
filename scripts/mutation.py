"""Measure the test suite with mutation testing: mutmut 3.8 on a reproducible sample of mutants (docs/TESTING.md).

A full mutmut run over ``pyaccad/ad``, ``pyaccad/opt`` and ``pyaccad/backends/native`` is days of CPU
time on a small machine, so this script runs a fixed random sample of mutants, per area, with a fast test
subset per area:

======== ================================ ================================== ===========================
area     mutated                          tests                              backends
======== ================================ ================================== ===========================
ad       ``pyaccad/ad/*``                 ``tests/ad``                       ``interp``
codegen  ``pyaccad/opt/*``,               ``tests/opt tests/backends``       ``interp,native``
         ``pyaccad/backends/native/*``,
         ``pyaccad/backends/clike/*``,
         ``pyaccad/ir/monoids.py``
======== ================================ ================================== ===========================

Steps (each area runs in its own copy of the tree under ``--work``, so no mutmut file enters the checkout)::

    python scripts/mutation.py generate --area ad            # copy the tree, write every mutant (no tests run)
    python scripts/mutation.py sample --area ad --per-group 30 --seed 1 [--unchanged-in OTHER_WORK] > names
    python scripts/mutation.py run --area ad --names names   # mutmut run on exactly those mutants
    python scripts/mutation.py report --area ad --names names

``sample`` draws, with ``random.Random(seed)``, ``--per-group`` mutants from each group (ad; opt;
native) of the sorted list of mutant names (mutmut numbers a function's mutants in source order, so a name
is a fixed file, function and mutation). With ``--unchanged-in`` (another tree's work folder, generated
first) it draws only mutants of functions whose source is the same there, so two versions of the code can
be measured on the same mutants. ``--only GLOB`` (repeatable) restricts the draw to some functions, for a
targeted sample.

``known`` applies each fault of :data:`KNOWN_FAULTS` (faults that once survived the suite, some of a kind
mutmut does not make: a dropped condition, a changed entry of a module-level table) to a fresh copy of the
tree, one at a time, and runs the area's tests on it (``-x``, two processes)::

    python scripts/mutation.py known [--tree CHECKOUT]

``run`` calls mutmut's own ``run`` with three adjustments, all for speed or soundness on this codebase:
mutmut's fork server (plain fork would fork the process that ran the stats pass, OpenMP's and JAX's
threads started; the server has only collected the tests), no second "clean"
pass of the tests (the stats pass already ran them all and stops on a failure), and the pytest plugin
written below. The plugin gives every mutant its own native *layout* keys (:mod:`pyaccad.backends.native.layouts`
keys a remembered layout by the code generator's source, which mutmut's trampolines keep the same for every
mutant of a file, so a mutated generator would otherwise find the unmutated library; compiled libraries are
keyed by their C source, so they are shared safely), and it keeps mutmut's trampolines out of the user's
line that error messages name (:func:`pyaccad.errors.user_frame_summary` takes the innermost frame outside
pyaccad, which would be the trampoline). Per-mutant limits: mutmut's, with
``timeout_multiplier = 3`` and ``timeout_constant = 10`` s over the covering tests' measured time.
``PYTHONPATH`` points at the mutated copy, so tests that start a Python process run the mutant there too.

mutmut's limits (docs/TESTING.md): it mutates only inside functions (not module-level tables), and a
function that runs only while modules are imported (a factory filling a table) runs before the mutant is
chosen, so its mutants are never active and "survive".
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AREAS = {
    "ad": {"mutate": ["pyaccad/ad/*"], "tests": ["tests/ad"], "backends": "interp"},
    "codegen": {
        "mutate": ["pyaccad/opt/*", "pyaccad/backends/native/*", "pyaccad/backends/clike/*", "pyaccad/ir/monoids.py"],
        "tests": ["tests/opt", "tests/backends"],
        "backends": "interp,native",
    },
}
KNOWN_FAULTS = [  # (name, file, text, replacement, area)
    (
        "fold of a transpose: guard on the kept axes' order dropped",
        "pyaccad/opt/fusion.py",
        "if perm and kept == sorted(kept):",
        "if perm:",
        "codegen",
    ),
    (
        "identity of the `and` monoid false",
        "pyaccad/ir/monoids.py",
        'Monoid("and", np.logical_and, "1")',
        'Monoid("and", np.logical_and, "0")',
        "codegen",
    ),
    (
        "export: mirror boundary reflects one too far",
        "pyaccad/export/structural.py",
        "? ({2 * n - 2} - {folded}",
        "? ({2 * n - 1} - {folded}",
        "export",
    ),
    (
        "d(x mod y)/dy: sign flipped",
        "pyaccad/ad/jvp_rules/elementwise.py",
        'lambda a, y: op("neg", op("floor", op("div", a[0], a[1])))',
        'lambda a, y: op("floor", op("div", a[0], a[1]))',
        "ad",
    ),
]
"""Faults the suite once missed (docs/TESTING.md), for ``known``."""
KNOWN_TESTS = {**AREAS, "export": {"tests": ["tests/export"], "backends": "interp"}}
GROUPS = {
    "pyaccad.ad.": "ad",
    "pyaccad.opt.": "opt",
    "pyaccad.ir.monoids": "opt",
    "pyaccad.backends.native.": "native",
    "pyaccad.backends.clike.": "native",
}

PLUGIN = '''"""pytest plugin of mutation runs (scripts/mutation.py): each mutant gets its own native layout keys, and
mutmut's trampolines are not taken for the user's code in error messages."""
import functools
import hashlib
import os

from pyaccad import errors
from pyaccad.backends.native import layouts

_program_key = layouts.program_key
_is_user_file = errors._is_user_file


def program_key(program):
    key = _program_key(program)
    if key is None:
        return None
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    return hashlib.sha256(f"{key}|{mutant}".encode()).hexdigest()[:32]


@functools.lru_cache(maxsize=4096)
def is_user_file(filename):
    return _is_user_file(filename) and f"{os.sep}mutmut{os.sep}" not in filename


layouts.program_key = program_key
errors._is_user_file = is_user_file
'''

SETUP_CFG = """[mutmut]
source_paths = pyaccad
only_mutate =
{mutate}
pytest_add_cli_args_test_selection =
{tests}
pytest_add_cli_args =
    -p
    no:cacheprovider
    -p
    mutation_layout_guard
also_copy =
    mutation_layout_guard.py
process_isolation = forkserver
timeout_multiplier = 3
timeout_constant = 10
use_git_change_detection = false
"""


def work_dir(args: argparse.Namespace) -> Path:
    return Path(args.work).resolve() / args.area


def _copy_tree(tree: Path, work: Path) -> None:
    """Copy ``tree``'s tracked and untracked (not ignored) files into a new folder ``work``."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=tree, check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (tree / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(tree / name, work / name)


def generate(args: argparse.Namespace) -> None:
    """Copy the tree into the work folder and write the mutants."""
    work = work_dir(args)
    _copy_tree(Path(args.tree).resolve(), work)
    area = AREAS[args.area]
    indent = lambda items: "\n".join(f"    {item}" for item in items)
    (work / "setup.cfg").write_text(SETUP_CFG.format(mutate=indent(area["mutate"]), tests=indent(area["tests"])))
    (work / "mutation_layout_guard.py").write_text(PLUGIN)
    _in_work(work, "generate")


def _in_work(work: Path, step: str, names: list[str] | None = None, max_children: int = 2) -> None:
    """Run mutmut's ``step`` inside ``work`` in a fresh interpreter of this venv (mutmut reads its cwd)."""
    env = {**os.environ, "PYTHONPATH": str(work / "mutants"), "PYTHONHASHSEED": "0"}
    env["PYACCAD_TEST_BACKENDS"] = AREAS[work.name]["backends"]
    env.setdefault("PYACCAD_CACHE_DIR", str(work.parent / "cache"))
    env.setdefault("PYACCAD_NUM_THREADS", "1")  # two mutants run at once on a small machine
    driver = f"""
import sys
import mutmut.__main__ as m
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths
if {step!r} == "generate":
    from pathlib import Path
    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir(); copy_also_copy_files(); setup_source_paths()
    print(m.create_mutants({max_children}))
else:
    from mutmut.workers import isolation
    for cls in (isolation.ForkServerRunner, isolation.ForkRunner):
        cls.run_clean_tests = lambda self, tests: 0  # the stats pass ran every test and stops on a failure
    m._run({names!r}, {max_children})
"""
    subprocess.run([sys.executable, "-c", driver], cwd=work, env=env, check=True)


def known(args: argparse.Namespace) -> None:
    """Each known fault in its own copy of the tree, against its area's tests: killed or survived."""
    work = Path(args.work).resolve() / "known"
    for name, path, text, replacement, area in KNOWN_FAULTS:
        _copy_tree(Path(args.tree).resolve(), work)
        source = (work / path).read_text()
        if source.count(text) != 1:
            print(f"not applicable: {name} ({path} has no single {text!r})")
            continue
        (work / path).write_text(source.replace(text, replacement))
        tests = KNOWN_TESTS[area]["tests"]
        env = {**os.environ, "PYTHONPATH": str(work), "PYACCAD_TEST_BACKENDS": KNOWN_TESTS[area]["backends"]}
        env.setdefault("PYACCAD_CACHE_DIR", str(work.parent / "cache"))
        command = [sys.executable, "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider"]
        done = subprocess.run([*command, "-n", "2"], cwd=work, env=env, capture_output=True, text=True)
        failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")][:1]
        verdict = "SURVIVED" if done.returncode == 0 else "killed" if failed else f"exit {done.returncode}"
        print(f"{verdict}: {name}; {' '.join(tests)}{': ' + failed[0] if failed else ''}", flush=True)


def _metas(work: Path) -> dict[str, dict]:
    return {
        str(p.relative_to(work / "mutants"))[: -len(".meta")]: json.loads(p.read_text())
        for p in sorted((work / "mutants" / "pyaccad").rglob("*.py.meta"))
    }


def _group(name: str) -> str:
    return next(g for prefix, g in GROUPS.items() if name.startswith(prefix))


def _function_hashes(work: Path) -> dict[str, str]:
    """``module.function`` (mutmut's mangled name) -> hash of the function's source."""
    out = {}
    for path, meta in _metas(work).items():
        module = path[: -len(".py")].replace("/", ".").replace(".__init__", "")
        out.update({f"{module}.{f}": h for f, h in meta["hash_by_function_name"].items()})
    return out


def sample(args: argparse.Namespace) -> None:
    work = work_dir(args)
    names = sorted(n for meta in _metas(work).values() for n in meta["exit_code_by_key"])
    if args.only:
        names = [n for n in names if any(fnmatch.fnmatch(n, pattern) for pattern in args.only)]
    if args.unchanged_in:
        here, there = _function_hashes(work), _function_hashes(Path(args.unchanged_in).resolve() / args.area)
        function = lambda n: n.partition("__mutmut_")[0]
        names = [n for n in names if here.get(function(n)) is not None and here[function(n)] == there.get(function(n))]
    rng = random.Random(args.seed)
    by_group: dict[str, list[str]] = {}
    for name in names:
        by_group.setdefault(_group(name), []).append(name)
    for group in sorted(by_group):
        pool = by_group[group]
        print(f"# {group}: {min(args.per_group, len(pool))} of {len(pool)} eligible mutants", file=sys.stderr)
        print("\n".join(sorted(rng.sample(pool, min(args.per_group, len(pool))))))


def run(args: argparse.Namespace) -> None:
    names = [line.strip() for line in Path(args.names).read_text().splitlines() if line.strip()]
    _in_work(work_dir(args), "run", names, args.max_children)


# mutmut's exit codes (mutmut.stats.status_by_exit_code); a test process killed by a signal (a crash in generated
# code: SIGSEGV, SIGBUS, SIGABRT) counts as detected, SIGKILL and SIGXCPU are the timeouts.
STATUS = {1: "killed", 3: "killed", 0: "survived", 33: "no tests", 5: "no tests", 36: "timeout", 24: "timeout"}
STATUS.update({-24: "timeout", 152: "timeout", 255: "timeout", -9: "timeout", -6: "crashed", -7: "crashed"})
STATUS.update({-11: "crashed"})


def report(args: argparse.Namespace) -> None:
    names = {line.strip() for line in Path(args.names).read_text().splitlines() if line.strip()}
    codes = {n: c for meta in _metas(work_dir(args)).values() for n, c in meta["exit_code_by_key"].items()}
    table: dict[str, Counter] = {}
    for name in sorted(names):
        status = "not run" if codes.get(name) is None else STATUS.get(codes[name], f"exit {codes[name]}")
        table.setdefault(_group(name), Counter())[status] += 1
        if status in ("survived", "no tests") and args.survivors:
            print(f"{status}: {name}")
    for group, counts in sorted(table.items()):
        detected = counts["killed"] + counts["timeout"] + counts["crashed"]
        total = sum(counts.values())
        print(f"{group}: {total} sampled, {dict(counts)}, score {detected}/{total} = {detected / total:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["generate", "sample", "run", "report", "known"])
    parser.add_argument("--area", choices=sorted(AREAS))
    parser.add_argument("--tree", default=str(ROOT), help="the checkout to measure (default: this one)")
    parser.add_argument("--work", default="/tmp/pyaccad-mutation", help="folder for the copies of the tree")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-group", type=int, default=30)
    parser.add_argument("--unchanged-in", help="another work folder: sample only functions unchanged there")
    parser.add_argument("--only", action="append", help="sample: only mutant names matching this glob (repeatable)")
    parser.add_argument("--names", help="a file of mutant names, one a line (sample's output)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--survivors", action="store_true", help="report: list the surviving mutants")
    args = parser.parse_args()
    if args.area is None and args.step != "known":
        parser.error(f"{args.step} needs --area")
    {"generate": generate, "sample": sample, "run": run, "report": report, "known": known}[args.step](args)


if __name__ == "__main__":
    main()
