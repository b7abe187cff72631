"""Fixtures of the export tests: GHC's own parser as a syntax check (no accelerate needed).

``hs_parse(sources)`` writes each module to a temporary folder and parses it with
``HsParse.hs``, a 30-line program over the ``ghc`` library that ships with every
GHC (Debian's ``ghc`` package): it runs GHC's parser on the file, honouring its
LANGUAGE pragmas, without resolving imports — so modules importing
``Data.Array.Accelerate`` are checked on machines that lack accelerate. The
checker is compiled once per test session; without ``ghc`` the tests skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def hs_parse(tmp_path_factory):
    if shutil.which("ghc") is None:
        pytest.skip("ghc is not installed (Debian package 'ghc'): cannot parse-check exported Haskell")
    build = tmp_path_factory.mktemp("hsparse")
    exe = build / "hsparse"
    made = subprocess.run(
        ["ghc", "-O0", "-package", "ghc", "-outputdir", str(build), "-o", str(exe), str(HERE / "HsParse.hs")],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"could not build the GHC-parser checker (is the ghc library package present?):\n{made.stderr}")
    libdir = subprocess.run(["ghc", "--print-libdir"], capture_output=True, text=True, check=True).stdout.strip()
    files = tmp_path_factory.mktemp("modules")

    def check(sources: dict[str, str]) -> None:
        paths = []
        for name, text in sources.items():
            path = files / f"{name}.hs"
            path.write_text(text)
            paths.append(str(path))
        result = subprocess.run([str(exe), libdir, *paths], capture_output=True, text=True)
        assert result.returncode == 0, f"GHC's parser rejected exported Haskell:\n{result.stdout}{result.stderr}"

    return check
