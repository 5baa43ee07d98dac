"""The service layer: orchestrates the pure core, the stores, the clock and the event bus.

Data flows one way: server -> service -> core (decisions) -> storage (effects). Nothing here
knows HTTP; errors are :mod:`authwise.errors` classes the server maps to responses.
"""

from authwise.service._base import Ended
from authwise.service.config import ServiceConfig, system_clock
from authwise.service.keys import KeyManager
from authwise.service.passwords import PasswordHasher
from authwise.service.service import AuthService, RetiredKey
from authwise.service.sessions import LoginResult, SessionView
from authwise.service.tokens import TokenResponse

__all__ = [
    "AuthService",
    "Ended",
    "KeyManager",
    "LoginResult",
    "PasswordHasher",
    "RetiredKey",
    "ServiceConfig",
    "SessionView",
    "TokenResponse",
    "system_clock",
]
