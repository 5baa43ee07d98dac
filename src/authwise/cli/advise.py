"""``authwise advise``: the seed's decision framework as a command."""

from __future__ import annotations
