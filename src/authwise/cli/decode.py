"""``authwise decode`` and ``authwise lint``: what is in a token, and whether it is safe."""

from __future__ import annotations
