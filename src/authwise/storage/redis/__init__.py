"""Redis in scale-out mode: the event stream that fans the log out to verifiers.

The SQL event log is the truth (every change commits with its events there); Redis carries a
copy of it as a Stream, so that many readers (verifiers, other services) can follow it without
each holding a database connection::

    stream = RedisEventStream(RedisConnection("redis://cache:6379/0"))
    await stream.publish(entries, keep_from=oldest_seq)     # the server's tailers relay
    await stream.read(after=last_seq, block_ms=5000)        # a reader follows

Key layout (``aw`` is the default prefix):

==============================  ======  ====================================================
key                             type    holds
==============================  ======  ====================================================
``aw:events``                   stream  one entry per log entry, with the ID ``<seq>-0`` and
                                        one field ``event`` (the event as JSON); trimmed by
                                        ``MINID`` to the log's retention
==============================  ======  ====================================================

Every server process relays what it reads from the log, in order; Redis refuses an ID that is
not above the newest one, so each entry lands once whoever relays it first, and since every
relay goes in order and never skips, an entry in the stream has all its predecessors there
too. When Redis loses its data the stream starts again at the next relayed entry: a reader
that finds a gap (an ID that is not its last plus one) must catch up from the server (the SSE
stream with ``Last-Event-ID``) before trusting the stream again.

Rate-limit counters live in Redis too, through the ``limits`` library (``server/throttle.py``).
"""

from __future__ import annotations

from authwise.storage.redis._client import Keys, RedisConnection
from authwise.storage.redis._stream import RedisEventStream

__all__ = ["Keys", "RedisConnection", "RedisEventStream"]
