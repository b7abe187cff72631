"""``docs/API.md`` is what ``python -m pyaccad.docs`` generates from the docstrings, and covers the API."""

from __future__ import annotations

import importlib
import re

from mdfiles import ROOT
from test_api_surface import LINALG, NN, PUBLIC

from pyaccad.docs import PUBLIC_MODULES, reference

API_MD = ROOT / "docs" / "API.md"


def test_api_md_is_generated_from_the_docstrings() -> None:
    # On failure: `python -m pyaccad.docs --write`, and commit docs/API.md with the docstrings that changed it.
    assert API_MD.read_text(encoding="utf-8") == reference()


def _headings() -> set[str]:
    """The names the reference documents, as ``prefix.name``."""
    return set(re.findall(r"^####+ `(?:class )?([\w.]+)", reference(), re.MULTILINE))


def test_every_public_name_of_every_public_module_has_an_entry() -> None:
    for prefix, module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        missing = {f"{prefix}.{name}" for name in module.__all__} - _headings()
        assert missing == set(), f"{module_name}: {sorted(missing)}"


# The API contract's names (tests/test_api_surface.py for acc, nn and linalg; its table of derivatives for ad).
AD = (
    "grad value_and_grad grad_with diff jvp linearize vjp jacobian hessian hessian_product vmap stop_gradient "
    "custom_vjp checkpoint"
).split()


def test_the_reference_covers_the_api_contract() -> None:
    contract = {f"acc.{n}" for n in PUBLIC} | {f"nn.{n}" for n in NN} | {f"ad.{n}" for n in AD}
    contract |= {f"linalg.{n}" for n in LINALG}
    assert contract - _headings() == set()
    assert {"acc.Array.sum", "acc.Array.astype", "acc.Array.T", "ad.custom_vjp.defvjp"} <= _headings()


def test_entries_show_the_contracts_signatures() -> None:
    text = reference()
    for entry in (
        "`acc.fold(f, init, a, axis=-1)`",
        "`acc.permute(combine, defaults, index_fn, a)`",
        "`acc.stencil(f, a, size, boundary='clamp')`",
        "`acc.sin(x, /)`",
        "`acc.atan2(x, y, /)`",
        "`ad.jacobian(f, argnums=0, mode='auto')`",
        "`nn.logsumexp(x, axis=None, keepdims=False)`",
    ):
        assert entry in text, entry
