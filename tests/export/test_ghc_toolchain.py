"""Finding GHC and its packages (:mod:`pyaccad.export.ghc`): ``$PYACCAD_GHC_ENV``, else ``stack``, else GHC's default.

``stack`` is played by a small script that answers ``stack path`` as stack does (one value per key), so the
order of the package databases, the failure messages and the precedence are checked on any machine; with a real
GHC, the probe that asks it for a module runs through the toolchain found that way.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import pyaccad as acc
from pyaccad.export import ghc

FAKE_STACK = """#!/bin/sh
# stack --stack-yaml FILE path KEY
echo "$2 $3 $4" >> "{log}"
case "$4" in
  --compiler-exe) echo "{compiler}" ;;
  --ghc-package-path) echo "{databases}" ;;
  *) echo "unknown key $4" >&2; exit 1 ;;
esac
"""


def _fake_stack(folder: Path, compiler: str, databases: list[str]) -> Path:
    script = folder / "bin" / "stack"
    script.parent.mkdir()
    text = FAKE_STACK.format(log=folder / "calls.log", compiler=compiler, databases=os.pathsep.join(databases))
    script.write_text(text)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def stack_project(tmp_path, monkeypatch):
    """A stack.yaml and a fake ``stack`` first on the PATH; ``$PYACCAD_GHC_ENV`` unset."""
    project = tmp_path / "stack.yaml"
    project.write_text("resolver: lts-18.28\npackages: [hs]\n")
    monkeypatch.delenv("PYACCAD_GHC_ENV", raising=False)
    monkeypatch.setenv("PYACCAD_STACK_YAML", str(project))

    def use(compiler: str, databases: list[str]) -> Path:
        script = _fake_stack(tmp_path, compiler, databases)
        monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
        return tmp_path / "calls.log"

    return project, use


def test_stack_names_the_compiler_and_the_databases_most_local_last(stack_project, tmp_path):
    project, use = stack_project
    local, snapshot, global_db = (str(tmp_path / name) for name in ("local", "snapshot", "global"))
    calls = use("/opt/ghc/bin/ghc-9.0.2", [local, snapshot, global_db])
    found = ghc.toolchain()
    assert found.compiler == "/opt/ghc/bin/ghc-9.0.2"
    assert found.source == f"stack ({project})"
    # GHC_PACKAGE_PATH order is most local first; with -package-db the last one given takes precedence
    assert ghc.package_flags() == [
        "-clear-package-db",
        *("-package-db", global_db),
        *("-package-db", snapshot),
        *("-package-db", local),
    ]
    assert calls.read_text().split("\n")[:2] == [f"{project} path --compiler-exe", f"{project} path --ghc-package-path"]
    ghc.toolchain()  # found once per process and settings: stack is not asked again
    assert len(calls.read_text().splitlines()) == 2


def test_a_failing_stack_is_named_as_the_reason(stack_project, monkeypatch):
    _, use = stack_project
    use("", [])  # stack prints nothing for the compiler: no toolchain
    assert ghc.ghc() is None
    reason = acc.backends()["accelerate"]
    assert reason is not None and "stack" in reason and "--compiler-exe" in reason
    with pytest.raises(acc.BackendUnavailable, match="stack"):
        acc.run(lambda x: x + 1.0, 1.0, backend="accelerate")


def test_pyaccad_ghc_env_comes_before_stack(stack_project, tmp_path, monkeypatch):
    _, use = stack_project
    calls = use("/opt/ghc/bin/ghc", [str(tmp_path)])
    monkeypatch.setenv("PYACCAD_GHC_ENV", str(tmp_path / "accelerate.env"))
    assert ghc.package_flags() == ["-package-env", str(tmp_path / "accelerate.env")]
    assert ghc.toolchain().source == "$PYACCAD_GHC_ENV"
    assert not calls.exists()


def test_without_stack_or_an_environment_ghc_uses_its_default(tmp_path, monkeypatch):
    monkeypatch.delenv("PYACCAD_GHC_ENV", raising=False)
    monkeypatch.setenv("PYACCAD_STACK_YAML", str(tmp_path / "no-such-stack.yaml"))
    assert ghc.toolchain().source == "GHC's default environment"
    assert ghc.package_flags() == []


def test_a_module_missing_from_stacks_databases_names_stack(stack_project, tmp_path):
    real = ghc.ghc()
    if real is None:
        pytest.skip("needs GHC (apt-get install ghc) to ask it for a module")
    _, use = stack_project
    empty = tmp_path / "empty-db"
    empty.mkdir()
    use(real, [str(empty)])  # no global database either: not even base is there
    said = ghc.missing_module("Data.Array.Accelerate")
    assert said is not None and "Data.Array.Accelerate" in said and "stack (" in said
