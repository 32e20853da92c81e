"""FastAPI dependencies shared by the services: sessions, settings, the calling principal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import revocation
from shared.auth.principals import Principal
from shared.auth.tokens import decode_access_token
from shared.errors import Forbidden, Unauthorized
from shared.settings import Settings


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request that the check-in peak pays for.
async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessionmaker


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker.begin() as session:  # commit on success, rollback on raise
        yield session


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session in autocommit: each statement sees the latest committed data on its own, and a
    request costs no BEGIN/ROLLBACK round trips. Anything that writes takes a WriteSession."""
    async with _read_maker(request)() as session:
        yield session


def _read_maker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The replica's (DATABASE_READ_URL), unless this caller wrote in the last few seconds
    (read-your-writes, shared.web.replica); without a replica both are the primary's."""
    writes = request.app.state.recent_writes
    if writes is not None and writes.wrote_recently(request):
        return request.app.state.read_sessionmaker
    return request.app.state.replica_sessionmaker


# scope="function": the commit happens before the response leaves, never after a 2xx was sent.
WriteSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(_read_session)]
SessionMaker = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


def _bearer_token(request: Request) -> str:
    """The token of `Authorization: Bearer <token>`, read straight from the ASGI scope: one
    header scan instead of Starlette's Headers object and a sub-dependency per request."""
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            break
    raise Unauthorized("missing bearer token")


def authenticated(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: a valid token for *this* service's audience with one of `roles`.

    A token minted for another service fails the audience check (401); a token for the right
    service but the wrong role gets 403. Staff and merchant tokens also need their account still
    live at the token's version: one raw primary-key statement on a pooled connection, returned
    before the route takes its own (shared.auth.revocation), so revocation is immediate in every
    process and a request never holds two pooled connections: 401 otherwise.
    """
    allowed: frozenset[str] = frozenset(roles)

    async def dependency(request: Request) -> Principal:
        state = request.app.state
        principal = decode_access_token(state.settings, _bearer_token(request), audience=state.audience)
        if principal.is_versioned and not await revocation.is_current_on(state.engine, principal):
            raise Unauthorized("this session has ended; sign in again")
        if allowed and principal.role not in allowed:
            raise Forbidden("your role may not do this", role=principal.role)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"authenticated_{'_'.join(sorted(allowed)) or 'any'}"
    dependency.roles = allowed  # type: ignore[attr-defined]  # read by the route-role test
    return dependency


def require(*roles: str) -> type[Principal]:
    return Annotated[Principal, Depends(authenticated(*roles))]  # type: ignore[return-value]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def roles_of(dependencies: Iterable[object]) -> set[str]:
    out: set[str] = set()
    for dep in dependencies:
        out |= set(getattr(dep, "roles", ()))
    return out
