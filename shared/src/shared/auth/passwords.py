"""argon2id hashing, run off the event loop (hashing costs tens of milliseconds by design)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2-cffi defaults: argon2id, m=65536, t=3, p=4

# A real hash to verify against for unknown users, so timing does not reveal which names exist.
_DUMMY = _hasher.hash("not-a-real-password")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


async def hash_secret_async(secret: str) -> str:
    return await asyncio.to_thread(_hasher.hash, secret)


def _verify(stored: str | None, secret: str) -> tuple[bool, str | None]:
    try:
        _hasher.verify(stored or _DUMMY, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if stored is None:
        return False, None
    return True, (_hasher.hash(secret) if _hasher.check_needs_rehash(stored) else None)


async def verify_secret(stored: str | None, secret: str) -> tuple[bool, str | None]:
    """Return (ok, new_hash): new_hash is set when the stored hash uses weaker parameters."""
    return await asyncio.to_thread(_verify, stored, secret)
