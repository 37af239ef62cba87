"""Who may talk to the viewer: a check on every HTTP/websocket handshake.

A browser lets any web page open a websocket to ``127.0.0.1``; only the
``Origin`` header tells the page apart. :class:`HandshakeGuard` rejects (HTTP
403, before any scene data is sent) every request that

- carries an ``Origin`` that is not a loopback address (``localhost``,
  ``127.0.0.0/8``, ``::1``; any port, so SSH tunnels work), unless the viewer
  is bound to a public interface and the origin is the page's own host;
- names a non-loopback ``Host`` while the viewer is bound to loopback (DNS
  rebinding: ``evil.example`` resolving to ``127.0.0.1``);
- lacks the per-session token when one is set (always when bound to a
  non-loopback interface). The token comes in the page URL
  (``/?token=...``); the page's response sets it as a ``SameSite=Strict``
  cookie, which the browser then sends with its websocket handshake.
  Non-browser clients may put ``?token=`` in the websocket URL.

Requests without ``Origin`` (non-browser clients on this machine) are
allowed when bound to loopback.

viser builds its server with ``websockets.asyncio.server.serve`` inside its
own thread and offers no handshake hook, so :func:`guarded_serve` wraps that
function (``process_request`` composed with viser's own) only while a viser
server is being constructed, and reports whether the hook was installed so
the caller can fail closed on a viser that no longer uses it.
"""

from __future__ import annotations

import contextlib
import hmac
import http
import http.cookies
import inspect
import ipaddress
import logging
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("humokit.viewer")

TOKEN_COOKIE = "humokit_token"


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, ``127.x.x.x``, ``::1`` (brackets allowed), False otherwise."""
    if not host:
        return False
    h = host.strip().strip("[]").lower().rstrip(".")
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _host_of(netloc: str) -> str | None:
    """Host part of ``host[:port]`` (IPv6 in brackets); None when malformed."""
    try:
        return urllib.parse.urlsplit(f"//{netloc}").hostname
    except ValueError:
        return None


def new_token() -> str:
    """A fresh random per-session token (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class HandshakeGuard:
    """Policy for the viewer's handshakes.

    Args:
        bound_host: the interface the server binds (``127.0.0.1``, ``0.0.0.0``, ...).
        token: required per-session token, or None (only allowed on loopback).
    """

    bound_host: str
    token: str | None = None
    installed: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.token is None and not self.loopback:
            raise ValueError("a viewer bound to a non-loopback interface needs a token")

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.bound_host)

    def rejection(self, path: str, headers: Mapping[str, str]) -> str | None:
        """Why a request for ``path`` with ``headers`` is refused, or None when it is allowed."""
        host = headers.get("Host")
        if self.loopback and not is_loopback_host(_host_of(host or "")):
            return f"host {host!r} is not a loopback address"
        origin = headers.get("Origin")
        if origin is not None:
            try:
                parts = urllib.parse.urlsplit(origin)
                origin_host = parts.hostname
            except ValueError:
                return f"origin {origin!r} is malformed"
            same_site = not self.loopback and host is not None and parts.netloc.lower() == host.lower()
            if parts.scheme not in ("http", "https") or not (is_loopback_host(origin_host) or same_site):
                return f"origin {origin!r} is not allowed"
        if self.token is not None and not self._has_token(path, headers):
            return "missing or wrong session token (open the URL printed by humokit view)"
        return None

    def _query_token(self, path: str) -> str | None:
        query = urllib.parse.urlsplit(path).query
        values = urllib.parse.parse_qs(query).get("token")
        return values[0] if values else None

    def _has_token(self, path: str, headers: Mapping[str, str]) -> bool:
        assert self.token is not None
        given = self._query_token(path)
        if given is None:
            jar = http.cookies.SimpleCookie()
            with contextlib.suppress(http.cookies.CookieError):
                jar.load(headers.get("Cookie", ""))
            morsel = jar.get(TOKEN_COOKIE)
            given = morsel.value if morsel is not None else None
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def wrap(self, inner: Callable[..., Any] | None) -> Callable[..., Any]:
        """A websockets ``process_request`` hook: this check first, then ``inner`` (viser's file server)."""

        async def process_request(connection: Any, request: Any) -> Any:
            reason = self.rejection(request.path, request.headers)
            if reason is not None:
                log.warning("viewer: refused a connection from %s: %s", _peer(connection), reason)
                return connection.respond(http.HTTPStatus.FORBIDDEN, f"forbidden: {reason}\n")
            response = inner(connection, request) if inner is not None else None
            if inspect.isawaitable(response):
                response = await response
            if response is not None and self.token is not None and self._query_token(request.path) is not None:
                cookie = f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                response.headers["Set-Cookie"] = cookie
            return response

        return process_request


def _peer(connection: Any) -> str:
    try:
        return str(connection.remote_address[0])
    except Exception:  # noqa: BLE001 - only for the log line
        return "?"


_PATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def guarded_serve(guard: HandshakeGuard) -> Iterator[HandshakeGuard]:
    """While active, every ``websockets.asyncio.server.serve`` call gets ``guard`` in its handshake.

    Construct the ``viser.ViserServer`` inside this block (viser's constructor
    waits until its server thread has called ``serve``), then check
    ``guard.installed.is_set()``.
    """
    import websockets.asyncio.server as ws_server

    original = ws_server.serve

    def serve(*args: Any, process_request: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        guard.installed.set()
        return original(*args, process_request=guard.wrap(process_request), **kwargs)

    with _PATCH_LOCK:
        ws_server.serve = serve  # type: ignore[assignment,misc]
        try:
            yield guard
        finally:
            ws_server.serve = original  # type: ignore[misc]
