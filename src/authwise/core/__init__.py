"""The pure core: no I/O, no asyncio, no framework, and never the clock (``now`` is passed in)."""
