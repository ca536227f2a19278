"""One delivery attempt over HTTP: the POST, its redirects, and a ``SendResult`` instead of
exceptions (SPEC section 3).

``Sender.send`` is the only place that talks to receivers. Whatever the network does, it returns a
``SendResult`` whose ``error_kind`` and ``error_message`` say what happened in words a subscriber
can act on; ``outcome.classify`` turns that into success, retry, give up or gone.
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import functools
import logging
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import TypeVar

import aiohttp
from yarl import URL

from deliveries.engine.outcome import ErrorKind
from deliveries.engine.targets import GuardedResolver, TargetPolicy, TargetRefused, check_url

logger = logging.getLogger(__name__)

_E = TypeVar("_E", bound=BaseException)

# Followed with the method, body and headers unchanged (303 included: a webhook is a POST and
# stays one, as the SPEC asks). 300, 304, 305 and 306 are final responses.
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers never sent beyond the origin of the subscription's URL (lowercase).
_ALWAYS_ORIGIN_ONLY = frozenset({"authorization"})


@dataclass(frozen=True)
class DeliveryRequest:
    url: str
    body: bytes
    # Complete: Content-Type, User-Agent, the signature headers and, when set, Authorization
    # and the subscription's own headers.
    headers: Mapping[str, str]
    connect_timeout_seconds: float  # per hop: TCP connect and TLS handshake
    total_timeout_seconds: float  # the whole send: every hop, and reading the response body
    max_redirects: int
    policy: TargetPolicy
    # Lowercase names of the subscription's own headers (SPEC 4): like Authorization they are
    # meant for the origin the subscriber named and are dropped once a redirect leaves it.
    origin_only_headers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RedirectHop:
    url: str  # the URL that answered with a redirect
    status: int


@dataclass(frozen=True)
class SendResult:
    status: int | None  # of the last response received; None when the last hop got none
    response_headers: dict[str, str]
    response_body: str  # UTF-8 with replacement characters, at most the sender's byte limit
    duration_ms: float
    error_kind: ErrorKind | None  # HTTP_STATUS for a final non-2xx response
    error_message: str | None
    hops: tuple[RedirectHop, ...]  # redirects met, in order
    final_url: str  # the last URL requested

    @property
    def ok(self) -> bool:
        """True for a final 2xx response with no error."""
        return self.error_kind is None and self.status is not None and 200 <= self.status < 300


class _SendFailed(Exception):
    """A redirect chain we stop following; carries the error to report."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class _Progress:
    """What one send has seen so far; survives an exception half-way through a chain."""

    url: str
    hops: list[RedirectHop] = field(default_factory=list)
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def start_hop(self, url: str) -> None:
        self.url = url
        self.status = None
        self.headers = {}
        self.body = ""


class Sender:
    """Sends delivery requests over pooled keep-alive connections.

    Use as ``async with Sender(allow_private=...) as sender:`` or call ``await sender.close()``.
    Private, loopback and reserved targets are reached only when both ``allow_private`` here and
    the request's ``policy.allow_private`` say so. Each answer keeps its own session, so connection
    pools and DNS caches never mix addresses checked under different rules.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        max_connections: int = 1000,
        response_body_limit: int = 4096,
    ) -> None:
        self.allow_private = allow_private
        self.max_connections = max_connections
        self.response_body_limit = response_body_limit
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        # Sessions that open a new connection for every request and close it after: redirect hops.
        self._fresh_sessions: dict[bool, aiohttp.ClientSession] = {}

    async def __aenter__(self) -> Sender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every pooled connection. The sender can still be used; it reconnects."""
        sessions = [*self._sessions.values(), *self._fresh_sessions.values()]
        self._sessions, self._fresh_sessions = {}, {}
        for session in sessions:
            await session.close()

    def _session(
        self, allow_private: bool, *, fresh_connections: bool = False
    ) -> aiohttp.ClientSession:
        sessions = self._fresh_sessions if fresh_connections else self._sessions
        session = sessions.get(allow_private)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=0,  # per-subscription concurrency is limited before we get here
                resolver=GuardedResolver(allow_private=allow_private),
                force_close=fresh_connections,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # one receiver's cookies never reach another
                trust_env=False,  # a proxy from the environment would bypass the resolver guard
                # The SPEC fixes the headers a receiver gets; aiohttp would add these two.
                skip_auto_headers=("Accept", "Accept-Encoding"),
                timeout=aiohttp.ClientTimeout(total=None),
            )
            sessions[allow_private] = session
        return session

    async def send(self, request: DeliveryRequest) -> SendResult:
        """POST ``request`` and follow its redirects; return what happened.

        Never raises for network or HTTP problems: they come back as ``error_kind`` and a human
        ``error_message`` that holds no secret and no header value. Changes nothing but the pool.
        """
        started = time.perf_counter()
        progress = _Progress(url=request.url)
        allow_private = self.allow_private and request.policy.allow_private
        policy = TargetPolicy(
            allow_http_local=request.policy.allow_http_local, allow_private=allow_private
        )
        error_kind: ErrorKind | None = None
        error_message: str | None = None
        deadline = asyncio.timeout(request.total_timeout_seconds)
        try:
            async with deadline:
                await self._follow(request, policy, self._session(allow_private), progress)
        except _SendFailed as exc:
            error_kind, error_message = exc.kind, exc.message
        except Exception as exc:
            if deadline.expired():
                error_kind = ErrorKind.TIMEOUT
                error_message = (
                    f"no complete response within {request.total_timeout_seconds:g} s "
                    f"(total request timeout)"
                )
            else:
                error_kind, error_message = describe_exception(
                    exc, url=progress.url, connect_timeout=request.connect_timeout_seconds
                )
        else:
            status = progress.status
            if status is not None and not 200 <= status < 300:
                error_kind = ErrorKind.HTTP_STATUS
                error_message = f"receiver answered HTTP {status} {_reason(status)}".rstrip()
        return SendResult(
            status=progress.status,
            response_headers=progress.headers,
            response_body=progress.body,
            duration_ms=(time.perf_counter() - started) * 1000,
            error_kind=error_kind,
            error_message=error_message,
            hops=tuple(progress.hops),
            final_url=progress.url,
        )

    async def _follow(
        self,
        request: DeliveryRequest,
        policy: TargetPolicy,
        session: aiohttp.ClientSession,
        progress: _Progress,
    ) -> None:
        """POST to ``request.url`` and each redirect target in turn, recording into ``progress``.

        Raises ``_SendFailed`` for a redirect chain we refuse to follow, ``TargetRefused`` for a
        hop outside the target rules, and aiohttp/OS errors as they come.
        """
        headers = request.headers
        url = request.url
        timeout = _hop_timeout(request.connect_timeout_seconds)
        # Worked out at the first redirect only: most deliveries are answered without one.
        origin: tuple[str, str, int | None] | None = None
        seen: set[str] = set()
        while True:
            progress.start_hop(url)
            check_url(url, policy)
            async with session.post(
                url, data=request.body, headers=headers, allow_redirects=False, timeout=timeout
            ) as response:
                progress.status = response.status
                progress.headers = _flatten_headers(response.headers)
                if response.status not in REDIRECT_STATUSES:
                    progress.body = await _read_limited(response, self.response_body_limit)
                    return
                location = response.headers.get("Location")
            progress.hops.append(RedirectHop(url=url, status=response.status))
            if origin is None:
                origin = _origin(URL(request.url))
            seen.add(_without_fragment(URL(url)))
            url = _next_url(url, location, response.status)
            if url in seen:
                raise _SendFailed(
                    ErrorKind.REDIRECT_LOOP, f"redirect loop: {_display_url(url)} was seen before"
                )
            if len(progress.hops) > request.max_redirects:
                raise _SendFailed(
                    ErrorKind.TOO_MANY_REDIRECTS,
                    f"more than {request.max_redirects} redirects",
                )
            # Every later hop goes out on a connection of its own: a receiver may hang up right
            # after its redirect without saying `Connection: close`, and reusing the pooled
            # connection then fails mid-request ("Can not write request body"). Redirects are
            # rare, so the extra connects cost nothing where throughput matters.
            session = self._session(policy.allow_private, fresh_connections=True)
            if _origin(URL(url)) != origin:
                # Credentials (Basic auth, and the subscription's own headers, which may carry
                # API keys) are for the origin the subscriber named; once a hop leaves it they
                # are gone for the rest of the chain, even if a later hop comes back.
                dropped = request.origin_only_headers | _ALWAYS_ORIGIN_ONLY
                headers = {k: v for k, v in headers.items() if k.lower() not in dropped}


@functools.lru_cache(maxsize=64)
def _hop_timeout(connect_seconds: float) -> aiohttp.ClientTimeout:
    """Per hop, only the connect (and TLS handshake) is timed here; the send's total deadline
    covers the rest. One object per distinct value, shared: it is immutable."""
    return aiohttp.ClientTimeout(
        total=None, connect=None, sock_connect=connect_seconds, sock_read=None
    )


def _next_url(current: str, location: str | None, status: int) -> str:
    """Return the absolute URL (no fragment) a redirect points to; raise ``_SendFailed`` when
    its ``Location`` is missing or is not an http(s) URL."""
    if not location or not location.strip():
        raise _SendFailed(ErrorKind.BAD_REDIRECT, f"redirect {status} without a Location header")
    try:
        target = URL(current).join(URL(location.strip()))
        host = target.raw_host
    except ValueError:
        raise _SendFailed(
            ErrorKind.BAD_REDIRECT, f"redirect {status} with an unreadable Location"
        ) from None
    if target.scheme not in ("http", "https") or not host:
        raise _SendFailed(
            ErrorKind.BAD_REDIRECT, f"redirect {status} to something that is not an http(s) URL"
        )
    return _without_fragment(target)


def _without_fragment(url: URL) -> str:
    return str(url.with_fragment(None))


def _origin(url: URL) -> tuple[str, str, int | None]:
    return url.scheme, (url.raw_host or "").lower().rstrip("."), url.port


def _display_url(url: str) -> str:
    """``url`` without query and fragment: query strings often carry tokens."""
    try:
        return str(URL(url).with_query(None).with_fragment(None).with_user(None))
    except ValueError:
        return "(unreadable URL)"


def _host_port(url: str) -> str:
    try:
        parsed = URL(url)
    except ValueError:
        return "(unreadable URL)"
    host = parsed.raw_host or ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parsed.port}"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _flatten_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return headers as a dict, repeated names joined with ``", "`` as RFC 9110 allows."""
    flat: dict[str, str] = {}
    lower_to_key: dict[str, str] = {}
    for name, value in headers.items():
        key = lower_to_key.setdefault(name.lower(), name)
        flat[key] = f"{flat[key]}, {value}" if key in flat else value
    return flat


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> str:
    """Return at most ``limit`` bytes of the body, decoded. The rest is never read: leaving it
    unread makes aiohttp close that connection instead of draining a huge body."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = await response.content.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    # When the limit cut the body, an incomplete UTF-8 sequence at the end is dropped rather than
    # shown as a replacement character.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(b"".join(chunks), final=remaining > 0)
    # A NUL cannot be stored in a PostgreSQL text column: one in a receiver's answer would make
    # its attempt unrecordable. It is shown as a replacement character, like invalid UTF-8.
    return text.replace("\x00", "\ufffd")


def describe_exception(
    exc: BaseException, *, url: str, connect_timeout: float
) -> tuple[ErrorKind, str]:
    """Return the ``ErrorKind`` and a human message for an exception from one hop to ``url``.

    Messages name the host and port, never the query string or a header value.
    """
    where = _host_port(url)
    refused = _find_in_chain(exc, TargetRefused)
    if refused is not None:
        return ErrorKind.TARGET_REFUSED, str(refused)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        detail = getattr(cert_error, "verify_message", None) or getattr(cert_error, "reason", None)
        return (
            ErrorKind.TLS,
            f"TLS certificate verification failed for {where}: {detail or cert_error}",
        )
    tls_error = _find_in_chain(exc, ssl.SSLError)
    if isinstance(exc, aiohttp.ClientSSLError) or tls_error is not None:
        detail = getattr(tls_error, "reason", None) or tls_error or exc
        return ErrorKind.TLS, f"TLS handshake with {where} failed: {detail}"
    dns_error = _find_in_chain(exc, socket.gaierror)
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or dns_error is not None:
        detail = dns_error.strerror if dns_error is not None else "lookup failed"
        return ErrorKind.DNS, f"could not resolve host {URL(url).raw_host or where}: {detail}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return (
            ErrorKind.CONNECT_TIMEOUT,
            f"could not connect to {where} within {connect_timeout:g} s",
        )
    if isinstance(exc, TimeoutError):  # ServerTimeoutError and SocketTimeoutError included
        return ErrorKind.TIMEOUT, f"{where} timed out"
    os_error = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    os_errno = os_error.errno if isinstance(os_error, OSError) else None
    if isinstance(os_error, ConnectionRefusedError) or os_errno == errno.ECONNREFUSED:
        return ErrorKind.CONNECTION_REFUSED, f"connection to {where} refused"
    if isinstance(
        exc, aiohttp.ServerDisconnectedError | ConnectionResetError | BrokenPipeError
    ) or os_errno in (errno.ECONNRESET, errno.EPIPE):
        return ErrorKind.CONNECTION_RESET, f"{where} closed the connection before answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return ErrorKind.CONNECTION_ERROR, f"{where} sent an incomplete or malformed response body"
    if isinstance(exc, aiohttp.ClientResponseError):
        return ErrorKind.CONNECTION_ERROR, f"{where} sent a malformed HTTP response"
    if isinstance(os_error, OSError) and os_error.strerror:
        return ErrorKind.CONNECTION_ERROR, f"could not reach {where}: {os_error.strerror}"
    if not isinstance(exc, aiohttp.ClientError | OSError):
        # Not a network problem we know: ours or the library's. Log it whole, report it briefly.
        logger.exception("unexpected error sending to %s", where, exc_info=exc)
    return ErrorKind.CONNECTION_ERROR, f"could not reach {where}: {type(exc).__name__}"


def _find_in_chain(exc: BaseException, kind: type[_E]) -> _E | None:
    """Return the first exception of type ``kind`` in ``exc``'s cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        if isinstance(current, aiohttp.ClientConnectorError) and isinstance(current.os_error, kind):
            return current.os_error
        current = current.__cause__ or current.__context__
    return None


def send_blocking(request: DeliveryRequest, *, allow_private: bool) -> SendResult:
    """Send one request in a fresh event loop and return its result (for commands and tests).

    Must not be called from a running event loop.
    """

    async def send_once() -> SendResult:
        async with Sender(allow_private=allow_private) as sender:
            return await sender.send(request)

    return asyncio.run(send_once())
