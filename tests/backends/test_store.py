"""The backends' on-disk store (:mod:`pyaccad.store`): atomic publication, checksums, clean failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyaccad.store import Store


def test_publish_moves_the_artifact_and_its_companions_into_place(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))
    store = Store("demo", ".bin")

    def make(tmp: Path, companions: dict[str, Path]) -> None:
        tmp.write_bytes(b"artifact")
        companions[".src"].write_text("source")

    path = store.publish("key", make, companions=(".src",))
    assert store.find("key") == path and path.read_bytes() == b"artifact"
    assert (tmp_path / "demo" / "key.src").read_text() == "source"
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["key.bin", "key.sha256", "key.src"]


def test_a_failed_build_leaves_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))
    store = Store("demo", ".bin")

    def make(tmp: Path, companions: dict[str, Path]) -> None:
        tmp.write_bytes(b"half")
        companions[".src"].write_text("source")
        raise RuntimeError("the compiler failed")

    with pytest.raises(RuntimeError, match="compiler failed"):
        store.publish("key", make, companions=(".src",))
    assert list((tmp_path / "demo").iterdir()) == [] and store.find("key") is None


def test_an_artifact_whose_bytes_changed_is_not_found(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))
    store = Store("demo", ".bin")
    path = store.publish("key", lambda tmp, companions: tmp.write_bytes(b"0123456789"))
    path.write_bytes(b"01234")  # truncated, as by a crash of another writer
    assert store.find("key") is None
    (tmp_path / "demo" / "key.sha256").unlink()
    assert store.find("key") is None
