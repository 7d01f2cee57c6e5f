"""The token that guards `tuiagents serve`: no page, file or websocket without it.

One aiohttp middleware sees every request before any route does, so a route added later (or one
textual-serve adds in a new version) is guarded too. The token arrives once in the URL the server
printed (`/?token=...`); the answer to that request keeps it in an HttpOnly cookie and sends the
browser on to the same address without it, so it stays out of the address bar, the history and any
Referer. The terminal's websocket and the page's scripts then carry the cookie. Tokens are compared
in constant time, and a websocket whose page came from another origin is refused even with the
cookie (a page on another localhost port shares cookies with this one).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

TOKEN_PARAM = "token"
REFUSED = ("tuiagents serve: this address needs the token that `tuiagents serve` printed when it "
           "started. Open the full URL it printed (it ends in ?token=...).\n")
WRONG = "tuiagents serve: wrong token. Open the full URL that `tuiagents serve` printed when it started.\n"
FOREIGN_ORIGIN = "tuiagents serve: this websocket was opened by a page from another origin.\n"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    """A fresh random token: 32 bytes from the OS's generator, URL-safe."""
    return secrets.token_urlsafe(32)


def _same(given: str, token: str) -> bool:
    # Bytes, so that a non-ASCII guess is refused like any other instead of raising TypeError.
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode("utf-8"))


def _no_store(response: web.StreamResponse) -> web.StreamResponse:
    if response.prepared:  # a websocket: its headers have gone already
        return response
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@dataclass
class TokenGate:
    """Lets a request through only with the token, in the query or in this server's cookie."""

    token: str = field(default_factory=new_token)
    port: int = 0

    @property
    def cookie_name(self) -> str:
        """The cookie's name: one per port, since browsers send a host's cookies to all its ports."""
        return f"tuiagents_serve_{self.port}"

    def credential(self, request: web.Request) -> str | None:
        """The token the request offers (query first, then cookie), or None."""
        return request.query.get(TOKEN_PARAM) or request.cookies.get(self.cookie_name)

    def allows(self, request: web.Request) -> bool:
        """True when the request carries the right token."""
        given = self.credential(request)
        return given is not None and _same(given, self.token)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuses (401 without a token, 403 with a wrong one) before any route runs."""
        given = self.credential(request)
        if given is None:
            return _no_store(web.Response(status=401, text=REFUSED))
        if not _same(given, self.token):
            return _no_store(web.Response(status=403, text=WRONG))
        if request.headers.get("Upgrade", "").lower() == "websocket" and not _same_origin(request):
            return _no_store(web.Response(status=403, text=FOREIGN_ORIGIN))
        if TOKEN_PARAM in request.query and request.method == "GET" and request.path == "/":
            # Keep the token in a cookie and show the page at an address without it.
            query = {k: v for k, v in request.query.items() if k != TOKEN_PARAM}
            response = web.Response(status=303, headers={"Location": str(request.rel_url.with_query(query))})
            response.set_cookie(self.cookie_name, self.token, httponly=True, samesite="Strict", path="/")
            return _no_store(response)
        return _no_store(await handler(request))


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser (a browser always sends Origin on a websocket)
        return True
    return origin in (f"http://{request.host}", f"https://{request.host}")
