"""``authwise serve``, ``users``, ``clients``, ``keys`` and ``db``: running the auth server."""

from __future__ import annotations
