"""Rewrite tests/export/golden/*.hs from the current printer (run by hand, then review the diff).

python tests/export/regenerate_goldens.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]

from programs import CASES, GOLDEN, module_name  # noqa: E402

from pyaccad.export import export_haskell  # noqa: E402

if __name__ == "__main__":
    for case in CASES:
        if case.name in GOLDEN:
            path = HERE / "golden" / f"{module_name(case.name)}.hs"
            path.write_text(
                export_haskell(case.fn, *case.args, module=module_name(case.name), name=case.name, optimized=False)
            )
            print(f"wrote {path}")
