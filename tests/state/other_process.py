"""A second authwise process, for the tests that claim something crosses processes.

``python -m tests.state.other_process ACTION DATABASE_URL NOW`` starts an
:class:`AuthService` configured as :func:`tests.state.conftest.make_service` makes it (the same
secrets, so it shares the first process's keys and refresh tokens) over the SQL database the
test names, does one thing and exits:

- ``revoke``: revoke the token read from stdin (never from the command line);
- ``rotate``: force a key rotation and print the new active ``kid``.
"""

from __future__ import annotations

import asyncio
import sys

from authwise.storage.sql import open_sql_stores

from .conftest import Clock, make_service


async def main(action: str, database_url: str, now: str) -> None:
    service = make_service(await open_sql_stores(database_url), Clock(int(now)))
    await service.start(follow=False)
    try:
        if action == "revoke":
            await service.revoke_token(sys.stdin.read().strip())
        elif action == "rotate":
            print((await service.rotate_keys(force=True)).active.kid)
        else:
            raise SystemExit(f"unknown action: {action}")
    finally:
        await service.close(close_stores=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
