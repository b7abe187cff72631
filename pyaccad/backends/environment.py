"""Environment variables read at every call of a compiled function, cheaply.

``$PYACCAD_BACKEND`` and ``$PYACCAD_NUM_THREADS`` take effect at the next call (README, "Backends": the
table of variables), so a jitted call reads them every time. ``os.environ.get`` costs about 0.6 µs a read
(Python code that encodes the name and decodes the value), a tenth of the whole call of a tiny program. A
:class:`Variable` looks its encoded name up in the dict of bytes behind ``os.environ``, which every change
made through ``os.environ`` updates (``os.environ[name] = ...``, ``del``, ``monkeypatch.setenv``), and
decodes the value only when it is another bytes object than the last one it decoded (bytes are immutable:
the same object is the same value): it sees every change ``os.environ.get`` would see, at the next read.

>>> import os
>>> color = Variable("PYACCAD_DOCTEST_COLOR")
>>> os.environ["PYACCAD_DOCTEST_COLOR"] = "red"
>>> color()
'red'
>>> os.environ["PYACCAD_DOCTEST_COLOR"] = "blue"
>>> color()
'blue'
>>> del os.environ["PYACCAD_DOCTEST_COLOR"]
>>> color() is None
True
"""

from __future__ import annotations

import os
from typing import Any


class Variable:
    """``Variable(name)()``: ``os.environ.get(name)``, read again at every call, in about a fifth of its time.

    Where ``os.environ`` is not CPython's own mapping (replaced by a plain dict, another interpreter), it is
    read with ``os.environ.get``.
    """

    __slots__ = ("name", "_bound", "_seen")

    def __init__(self, name: str) -> None:
        self.name = name
        # (the os.environ read, its dict of encoded values or None, the encoded name, the decoder): one tuple, so
        # that a thread never sees the parts of two bindings
        self._bound: tuple[Any, dict | None, Any, Any] = (None, None, None, None)
        self._seen: tuple[Any, str | None] = (None, None)  # the last raw value read and its decoded string

    def __call__(self) -> str | None:
        environ = os.environ
        bound_to, data, key, decode = self._bound
        if environ is not bound_to:  # the first read, or os.environ was replaced
            bound_to, data, key, decode = self._bound = _binding(environ, self.name)
        if data is None:
            return environ.get(self.name)
        raw = data.get(key)
        seen = self._seen
        if raw is seen[0]:  # the same (immutable) bytes object: the same value
            return seen[1]
        value = None if raw is None else decode(raw)
        self._seen = (raw, value)
        return value


def _binding(environ: Any, name: str) -> tuple[Any, dict | None, Any, Any]:
    """``(environ, its dict of encoded values, name encoded, the value decoder)``; the dict is None where
    ``environ`` is not an ``os._Environ`` (its attributes ``_data``, ``encodekey``, ``decodevalue``)."""
    data = getattr(environ, "_data", None)
    encodekey = getattr(environ, "encodekey", None)
    decode = getattr(environ, "decodevalue", None)
    if type(data) is not dict or encodekey is None or decode is None:
        return environ, None, None, None
    return environ, data, encodekey(name), decode
