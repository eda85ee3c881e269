"""The FastAPI dependencies that check the API key of every request against api.http.keys."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.keys import KeyStore, Scope

logger = logging.getLogger(__name__)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=message,
        headers={"WWW-Authenticate": "Bearer"},
    )


# auto_error=False lets this module send its own 401 with a message; the scheme also
# puts the "Authorize" button on /docs.
bearer = HTTPBearer(auto_error=False, description="an API key from DEPUTY_API_KEYS")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _authorize(request: Request, credentials: HTTPAuthorizationCredentials | None, required: Scope) -> Scope:
    if credentials is None or not credentials.credentials.strip():
        raise _unauthorized("missing API key; send the header Authorization: Bearer KEY")
    store: KeyStore = request.app.state.keys
    scope = store.scope_of(credentials.credentials.strip())
    if scope is None:
        store.rejected += 1
        logger.warning(
            "request %s: rejected an invalid API key (%s since start-up)", request.state.request_id, store.rejected
        )
        raise _unauthorized("invalid API key")
    if required is Scope.ADMIN and scope is not Scope.ADMIN:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="this endpoint needs an admin API key")
    return scope


def require_read(request: Request, credentials: Credentials) -> Scope:
    """FastAPI dependency: a valid key of any scope."""
    return _authorize(request, credentials, Scope.READ)


def require_admin(request: Request, credentials: Credentials) -> Scope:
    """FastAPI dependency: a valid key with the admin scope."""
    return _authorize(request, credentials, Scope.ADMIN)
