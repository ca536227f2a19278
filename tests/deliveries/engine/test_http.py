"""The sender against real HTTP(S) servers on 127.0.0.1 (no other network traffic)."""

import asyncio
import base64
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from deliveries.engine.http import (
    DeliveryRequest,
    RedirectHop,
    Sender,
    SendResult,
    describe_exception,
    send_blocking,
)
from deliveries.engine.outcome import AttemptOutcome, ErrorKind, classify
from deliveries.engine.signing import signature_header
from deliveries.engine.targets import TargetPolicy
from tests.support.tls import self_signed_certificate

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEV = TargetPolicy(allow_http_local=True, allow_private=True)
STRICT = TargetPolicy(allow_http_local=True, allow_private=False)
BODY = b'{"webhook_id":"w","event_id":"e","payload":{"id":"\xc3\xa9"}}'
SIGNATURE = signature_header(["whsec"], 1_700_000_000_000, BODY)
AUTHORIZATION = "Basic " + base64.b64encode(b"alice:hunter2").decode()
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "Tillhub HTTP Connector/2.1.0",
    "Tillhub-Signature": SIGNATURE,
    "Authorization": AUTHORIZATION,
}


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    host: str
    headers: dict[str, list[str]]
    body: bytes
    client_port: int

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        if values is None:
            return None
        assert len(values) == 1, f"{name} sent {len(values)} times"
        return values[0]


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


class LocalServer:
    """An aiohttp server on 127.0.0.1 in a thread of its own; tests route paths to handlers."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.routes: dict[str, Handler] = {}
        self.received: list[Received] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self.route(path, handler)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # Handlers are cancelled when the client goes away, so a slow handler never outlives
        # the test that timed out on it.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.received.append(
            Received(
                method=request.method,
                path=request.path_qs,
                host=request.host,
                headers=headers,
                body=await request.read(),
                client_port=peer[1] if peer else 0,
            )
        )
        return await self.routes.get(request.path, ok)(request)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.start()
    yield local
    local.stop()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[LocalServer]:
    local = LocalServer(ssl_context=self_signed_context())
    local.start()
    yield local
    local.stop()


def self_signed_context() -> ssl.SSLContext:
    """A server context with a throwaway self-signed certificate for localhost / 127.0.0.1."""
    cert_file, key_file = self_signed_certificate()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def delivery(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    total: float = 5.0,
    connect: float = 2.0,
    max_redirects: int = 20,
    policy: TargetPolicy = DEV,
) -> DeliveryRequest:
    return DeliveryRequest(
        url=url,
        body=BODY,
        headers=HEADERS if headers is None else headers,
        connect_timeout_seconds=connect,
        total_timeout_seconds=total,
        max_redirects=max_redirects,
        policy=policy,
    )


def send(request: DeliveryRequest, *, allow_private: bool = True) -> SendResult:
    return send_blocking(request, allow_private=allow_private)


def verdict(result: SendResult) -> AttemptOutcome:
    return classify(result, retry_client_errors=True, retry_after_cap_seconds=3600).outcome


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- success and HTTP statuses ----------------------------------------------------------------


def test_a_2xx_delivers_exactly_our_headers_and_body_bytes(server: LocalServer) -> None:
    # given a receiver that accepts
    async def accept(request: web.Request) -> web.StreamResponse:
        return web.Response(status=202, text="thanks", headers={"X-Receipt": "r-1"})

    server.route("/hook", accept)

    # when we deliver
    result = send(delivery(server.url("/hook?tenant=1")))

    # then it saw one POST with our exact headers and body
    assert len(server.received) == 1
    seen = server.received[0]
    assert seen.method == "POST"
    assert seen.path == "/hook?tenant=1"
    assert seen.body == BODY
    for name, value in HEADERS.items():
        assert seen.header(name) == value
    assert seen.header("Content-Length") == str(len(BODY))
    assert seen.header("Cookie") is None
    # and the result reports the response
    assert result.ok
    assert result.status == 202
    assert result.response_body == "thanks"
    assert result.response_headers["X-Receipt"] == "r-1"
    assert result.error_kind is None
    assert result.error_message is None
    assert result.hops == ()
    assert result.final_url == server.url("/hook?tenant=1")
    assert result.duration_ms > 0
    assert verdict(result) is AttemptOutcome.SUCCESS


def test_a_500_is_an_http_status_error_with_its_body(server: LocalServer) -> None:
    async def fail(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="database down")

    server.route("/hook", fail)

    result = send(delivery(server.url("/hook")))

    assert not result.ok
    assert result.status == 500
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.error_message == "receiver answered HTTP 500 Internal Server Error"
    assert result.response_body == "database down"
    assert verdict(result) is AttemptOutcome.RETRY


def test_a_410_is_gone(server: LocalServer) -> None:
    async def gone(request: web.Request) -> web.StreamResponse:
        return web.Response(status=410)

    server.route("/hook", gone)

    assert verdict(send(delivery(server.url("/hook")))) is AttemptOutcome.GONE


def test_repeated_response_headers_are_joined(server: LocalServer) -> None:
    async def cookies(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="ok")
        response.headers.add("X-Trace", "a")
        response.headers.add("X-Trace", "b")
        return response

    server.route("/hook", cookies)

    assert send(delivery(server.url("/hook"))).response_headers["X-Trace"] == "a, b"


# --- timeouts and connection errors -----------------------------------------------------------


def test_a_receiver_slower_than_the_total_timeout_times_out_quickly(server: LocalServer) -> None:
    async def stall(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)  # cancelled when the client gives up
        return web.Response(text="too late")

    server.route("/slow", stall)

    started = time.perf_counter()
    result = send(delivery(server.url("/slow"), total=0.3))
    elapsed = time.perf_counter() - started

    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.error_message == "no complete response within 0.3 s (total request timeout)"
    assert result.status is None
    assert 300 <= result.duration_ms < 1500
    assert elapsed < 2
    assert verdict(result) is AttemptOutcome.RETRY


def test_the_total_timeout_covers_reading_the_body(server: LocalServer) -> None:
    # given a receiver that sends its status, then stalls in the middle of the body
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Length": "100"})
        await response.prepare(request)
        await response.write(b"partial")
        await asyncio.sleep(30)
        return response

    server.route("/trickle", trickle)

    # when we deliver with a short total timeout
    result = send(delivery(server.url("/trickle"), total=0.3))

    # then the attempt timed out even though the status line said 200
    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.status == 200
    assert not result.ok
    assert result.duration_ms < 1500


def test_the_total_timeout_covers_every_redirect_hop(server: LocalServer) -> None:
    # given three hops of 0.15 s each
    async def slow_redirect(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.15)
        hop = int(request.path.rsplit("/", 1)[1])
        return web.Response(status=307, headers={"Location": f"/hop/{hop + 1}"})

    for hop in range(5):
        server.route(f"/hop/{hop}", slow_redirect)

    # when the whole send may take 0.35 s
    result = send(delivery(server.url("/hop/0"), total=0.35))

    # then it times out on the third hop instead of granting each hop its own budget
    assert result.error_kind is ErrorKind.TIMEOUT
    assert len(result.hops) == 2
    assert result.duration_ms < 1000


def test_a_closed_port_is_connection_refused() -> None:
    port = unused_port()

    result = send(delivery(f"http://127.0.0.1:{port}/hook"))

    assert result.error_kind is ErrorKind.CONNECTION_REFUSED
    assert result.error_message == f"connection to 127.0.0.1:{port} refused"
    assert result.status is None
    assert verdict(result) is AttemptOutcome.RETRY


def test_a_receiver_that_drops_the_connection_is_connection_reset(server: LocalServer) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        await asyncio.sleep(1)
        return web.Response()

    server.route("/hook", hang_up)

    result = send(delivery(server.url("/hook")))

    assert result.error_kind is ErrorKind.CONNECTION_RESET
    assert result.error_message == f"127.0.0.1:{server.port} closed the connection before answering"


# --- TLS ----------------------------------------------------------------------------------------


def test_a_self_signed_certificate_is_a_tls_error_and_gives_up(tls_server: LocalServer) -> None:
    result = send(delivery(tls_server.url("/hook")))

    assert result.error_kind is ErrorKind.TLS
    assert result.error_message is not None
    assert result.error_message.startswith(
        f"TLS certificate verification failed for 127.0.0.1:{tls_server.port}"
    )
    assert "self-signed" in result.error_message
    assert tls_server.received == []
    assert verdict(result) is AttemptOutcome.GIVE_UP


# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_keeps_post_body_and_signature(server: LocalServer, status: int) -> None:
    # given a receiver that moved
    server.redirect("/old", "/new", status=status)

    # when we deliver to the old address
    result = send(delivery(server.url("/old")))

    # then the new address got the same POST
    assert result.ok
    assert result.hops == (RedirectHop(url=server.url("/old"), status=status),)
    assert result.final_url == server.url("/new")
    first, second = server.received
    assert second.path == "/new"
    assert second.method == "POST"
    assert second.body == BODY == first.body
    assert second.header("Tillhub-Signature") == SIGNATURE
    assert second.header("Content-Type") == "application/json"


def test_twenty_redirects_succeed_and_twenty_one_fail(server: LocalServer) -> None:
    # given a chain /r/N -> /r/N-1 -> ... -> /r/0 (200)
    for n in range(1, 22):
        server.redirect(f"/r/{n}", f"/r/{n - 1}")

    # when we start 20 and 21 hops away
    twenty = send(delivery(server.url("/r/20")))
    twenty_one = send(delivery(server.url("/r/21")))

    # then exactly the configured number of redirects is followed
    assert twenty.ok
    assert len(twenty.hops) == 20
    assert twenty.final_url == server.url("/r/0")
    assert twenty_one.error_kind is ErrorKind.TOO_MANY_REDIRECTS
    assert twenty_one.error_message == "more than 20 redirects"
    assert twenty_one.status == 302
    assert len(twenty_one.hops) == 21
    assert verdict(twenty_one) is AttemptOutcome.RETRY
    # and the 22nd URL was never requested
    assert [r.path for r in server.received].count("/r/0") == 1


def test_max_redirects_zero_follows_none(server: LocalServer) -> None:
    server.redirect("/old", "/new")

    result = send(delivery(server.url("/old"), max_redirects=0))

    assert result.error_kind is ErrorKind.TOO_MANY_REDIRECTS
    assert [r.path for r in server.received] == ["/old"]


def test_authorization_is_kept_on_a_same_origin_redirect(server: LocalServer) -> None:
    server.redirect("/old", server.url("/new"))

    result = send(delivery(server.url("/old")))

    assert result.ok
    assert server.received[1].header("Authorization") == AUTHORIZATION


def test_authorization_is_dropped_when_a_redirect_leaves_the_origin(server: LocalServer) -> None:
    # given 127.0.0.1:PORT -> localhost:PORT (another host) -> back to 127.0.0.1:PORT
    server.redirect("/start", server.url("/elsewhere", host="localhost"))
    server.redirect("/elsewhere", server.url("/back"))

    # when we deliver with Basic auth
    result = send(delivery(server.url("/start")))

    # then only the original origin saw the credentials, and they did not come back
    assert result.ok
    start, elsewhere, back = server.received
    assert start.header("Authorization") == AUTHORIZATION
    assert elsewhere.host == f"localhost:{server.port}"
    assert elsewhere.header("Authorization") is None
    assert back.header("Authorization") is None
    # and the signature travelled all the way
    assert back.header("Tillhub-Signature") == SIGNATURE


def test_a_relative_location_is_resolved_against_the_current_url(server: LocalServer) -> None:
    server.redirect("/a/b/old", "../new?x=1#ignored")

    result = send(delivery(server.url("/a/b/old")))

    assert result.ok
    assert server.received[1].path == "/a/new?x=1"
    assert result.final_url == server.url("/a/new?x=1")


class ClosingAfterRedirectServer:
    """A raw HTTP/1.1 server on 127.0.0.1: `/old` answers 302 to `/new` without
    `Connection: close` and then hangs up (after a moment, so the client has already reused the
    connection for its next request); `/new` answers 200. Records each request's path."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.paths: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            client.settimeout(2)
            buffered = b""
            while True:
                try:
                    while b"\r\n\r\n" not in buffered:
                        chunk = client.recv(65536)
                        if not chunk:
                            return
                        buffered += chunk
                except OSError:
                    return
                head, _, buffered = buffered.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    int(line.split(":", 1)[1])
                    for line in lines
                    if line.lower().startswith("content-length:")
                )
                while len(buffered) < length:
                    buffered += client.recv(65536)
                buffered = buffered[length:]
                path = lines[0].split(" ")[1]
                self.paths.append(path)
                if path == "/old":
                    client.sendall(
                        b"HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"
                    )
                    # Hang up without having said so, once the next request has arrived.
                    time.sleep(0.2)
                    return
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self.listener.close()


def test_a_redirect_hop_after_the_receiver_hung_up_uses_a_fresh_connection() -> None:
    # given a receiver that closes the connection after its 302 without `Connection: close`
    server = ClosingAfterRedirectServer()
    try:
        # when we deliver to the address that redirects
        result = send(delivery(server.url("/old")))
    finally:
        server.close()

    # then the next hop went out on a new connection and succeeded
    assert result.ok, result.error_message
    assert result.final_url == server.url("/new")
    assert server.paths[0] == "/old"
    assert server.paths[-1] == "/new"


def test_a_redirect_loop_is_detected(server: LocalServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a?")  # the same URL spelled differently is still the same URL

    result = send(delivery(server.url("/a")))

    assert result.error_kind is ErrorKind.REDIRECT_LOOP
    assert result.error_message == f"redirect loop: {server.url('/a')} was seen before"
    assert len(result.hops) == 2
    assert [r.path for r in server.received] == ["/a", "/b"]
    assert verdict(result) is AttemptOutcome.RETRY


def test_a_redirect_without_location_is_a_bad_redirect(server: LocalServer) -> None:
    async def no_location(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302)

    server.route("/hook", no_location)

    result = send(delivery(server.url("/hook")))

    assert result.error_kind is ErrorKind.BAD_REDIRECT
    assert result.error_message == "redirect 302 without a Location header"
    assert result.status == 302


@pytest.mark.parametrize("location", ["ftp://example.com/x", "javascript:alert(1)", "http://[::1"])
def test_a_non_http_location_is_a_bad_redirect(server: LocalServer, location: str) -> None:
    server.redirect("/hook", location)

    result = send(delivery(server.url("/hook")))

    assert result.error_kind is ErrorKind.BAD_REDIRECT
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("location", "complaint"),
    [
        ("http://example.com/hook", "only allowed for local hosts"),
        ("https://user:pw@example.com/", "credentials"),
    ],
)
def test_a_redirect_outside_the_target_rules_is_refused(
    server: LocalServer, location: str, complaint: str
) -> None:
    server.redirect("/hook", location)

    result = send(delivery(server.url("/hook")))

    assert result.error_kind is ErrorKind.TARGET_REFUSED
    assert result.error_message is not None
    assert complaint in result.error_message
    assert "pw" not in result.error_message
    assert len(server.received) == 1


def test_a_final_304_is_an_http_status_error(server: LocalServer) -> None:
    async def not_modified(request: web.Request) -> web.StreamResponse:
        return web.Response(status=304)

    server.route("/hook", not_modified)

    result = send(delivery(server.url("/hook")))

    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.hops == ()
    assert verdict(result) is AttemptOutcome.RETRY


# --- target rules at send time ------------------------------------------------------------------


def test_localhost_is_refused_unless_private_targets_are_allowed(server: LocalServer) -> None:
    url = server.url("/hook", host="localhost")

    refused = send(delivery(url, policy=STRICT), allow_private=False)
    allowed = send(delivery(url, policy=DEV), allow_private=True)

    assert refused.error_kind is ErrorKind.TARGET_REFUSED
    assert refused.error_message is not None
    # A localhost name is loopback by rule (engine/targets.py), refused before any lookup.
    assert refused.error_message == "host localhost is a loopback address"
    assert allowed.ok
    assert len(server.received) == 1


def test_the_stricter_of_sender_and_request_wins(server: LocalServer) -> None:
    url = server.url("/hook", host="localhost")

    sender_strict = send(delivery(url, policy=DEV), allow_private=False)
    request_strict = send(delivery(server.url("/hook"), policy=STRICT), allow_private=True)

    assert sender_strict.error_kind is ErrorKind.TARGET_REFUSED
    assert request_strict.error_kind is ErrorKind.TARGET_REFUSED
    assert server.received == []


def test_a_literal_private_ip_is_refused_before_connecting(server: LocalServer) -> None:
    result = send(delivery(server.url("/hook?token=sekrit"), policy=STRICT), allow_private=False)

    assert result.error_kind is ErrorKind.TARGET_REFUSED
    assert result.error_message == "host 127.0.0.1 is a private or reserved address"
    assert server.received == []


def test_error_messages_never_carry_credentials_or_query_strings(server: LocalServer) -> None:
    server.redirect("/a", "/a?token=sekrit")
    server.redirect("/a?token=sekrit", "/a")  # routes match on path: /a loops to itself

    result = send(delivery(server.url("/a?token=sekrit")))

    assert result.error_kind is ErrorKind.REDIRECT_LOOP
    assert result.error_message is not None
    assert "sekrit" not in result.error_message
    assert "hunter2" not in result.error_message
    assert AUTHORIZATION not in result.error_message


# --- response bodies ----------------------------------------------------------------------------


def test_a_nul_in_the_response_body_becomes_a_replacement_character(server: LocalServer) -> None:
    async def binary(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"ok\x00done")

    server.route("/hook", binary)

    result = send(delivery(server.url("/hook")))

    assert result.ok
    assert result.response_body == "ok\ufffddone"


def test_the_response_body_is_truncated_to_the_limit(server: LocalServer) -> None:
    async def chatty(request: web.Request) -> web.StreamResponse:
        return web.Response(text="x" * 100_000)

    server.route("/hook", chatty)

    async def run() -> SendResult:
        async with Sender(allow_private=True, response_body_limit=1000) as sender:
            return await sender.send(delivery(server.url("/hook")))

    result = asyncio.run(run())

    assert result.ok
    assert result.response_body == "x" * 1000


def test_truncation_never_splits_a_utf8_character(server: LocalServer) -> None:
    async def accents(request: web.Request) -> web.StreamResponse:
        return web.Response(text="é" * 3000)

    server.route("/hook", accents)

    async def run() -> SendResult:
        async with Sender(allow_private=True, response_body_limit=1001) as sender:
            return await sender.send(delivery(server.url("/hook")))

    assert asyncio.run(run()).response_body == "é" * 500


def test_invalid_utf8_is_replaced_not_fatal(server: LocalServer) -> None:
    async def binary(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"ok \xff\xfe end")

    server.route("/hook", binary)

    assert send(delivery(server.url("/hook"))).response_body == "ok \ufffd\ufffd end"


def test_a_huge_body_is_not_read_to_the_end(server: LocalServer) -> None:
    # given a receiver that would stream a gigabyte
    sent = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(2**30)})
        await response.prepare(request)
        chunk = b"y" * 65536
        for _ in range(2**30 // len(chunk)):
            await response.write(chunk)
            sent.append(len(chunk))
        return response

    server.route("/hook", endless)

    # when we deliver
    result = send(delivery(server.url("/hook"), total=5))

    # then we kept the first 4096 bytes and hung up long before the end
    assert result.ok
    assert result.response_body == "y" * 4096
    assert result.duration_ms < 2000
    assert sum(sent) < 2**30


# --- the session --------------------------------------------------------------------------------


def test_keep_alive_connections_are_reused(server: LocalServer) -> None:
    async def run() -> list[SendResult]:
        async with Sender(allow_private=True) as sender:
            return [await sender.send(delivery(server.url("/hook"))) for _ in range(3)]

    results = asyncio.run(run())

    assert all(result.ok for result in results)
    assert len({r.client_port for r in server.received}) == 1


def test_a_closed_sender_can_send_again(server: LocalServer) -> None:
    async def run() -> tuple[SendResult, SendResult]:
        sender = Sender(allow_private=True)
        first = await sender.send(delivery(server.url("/hook")))
        await sender.close()
        second = await sender.send(delivery(server.url("/hook")))
        await sender.close()
        return first, second

    first, second = asyncio.run(run())

    assert first.ok
    assert second.ok


def test_concurrent_sends_share_one_sender(server: LocalServer) -> None:
    async def slowish(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.2)
        return web.Response(text="ok")

    server.route("/hook", slowish)

    async def run() -> list[SendResult]:
        async with Sender(allow_private=True) as sender:
            return await asyncio.gather(
                *(sender.send(delivery(server.url("/hook"))) for _ in range(20))
            )

    started = time.perf_counter()
    results = asyncio.run(run())

    assert all(result.ok for result in results)
    assert time.perf_counter() - started < 2  # concurrent, not 20 x 0.2 s


# --- mapping library errors ---------------------------------------------------------------------


def describe(exc: BaseException) -> tuple[ErrorKind, str]:
    return describe_exception(exc, url="https://hooks.example:8443/x?token=t", connect_timeout=5)


def test_connect_timeouts_are_told_apart_from_read_timeouts() -> None:
    assert describe(aiohttp.ConnectionTimeoutError("to host")) == (
        ErrorKind.CONNECT_TIMEOUT,
        "could not connect to hooks.example:8443 within 5 s",
    )
    assert describe(aiohttp.SocketTimeoutError("read"))[0] is ErrorKind.TIMEOUT
    assert describe(TimeoutError())[0] is ErrorKind.TIMEOUT


def test_dns_failures_are_found_in_the_exception_chain() -> None:
    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as exc:
            raise aiohttp.ClientConnectionError("wrapped") from exc
    except aiohttp.ClientConnectionError as wrapped:
        kind, message = describe(wrapped)

    assert kind is ErrorKind.DNS
    assert message == "could not resolve host hooks.example: Name or service not known"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConnectionRefusedError(111, "refused"), ErrorKind.CONNECTION_REFUSED),
        (OSError(111, "Multiple exceptions: ..."), ErrorKind.CONNECTION_REFUSED),
        (aiohttp.ServerDisconnectedError(), ErrorKind.CONNECTION_RESET),
        (ConnectionResetError(104, "reset"), ErrorKind.CONNECTION_RESET),
        (ssl.SSLError(1, "handshake failure"), ErrorKind.TLS),
        (aiohttp.ClientPayloadError("cut"), ErrorKind.CONNECTION_ERROR),
        (OSError(113, "No route to host"), ErrorKind.CONNECTION_ERROR),
        (aiohttp.ClientError("something"), ErrorKind.CONNECTION_ERROR),
    ],
)
def test_library_errors_map_to_error_kinds(exc: BaseException, kind: ErrorKind) -> None:
    found, message = describe(exc)

    assert found is kind
    assert "token" not in message


def test_an_unexpected_error_is_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    kind, message = describe(RuntimeError("bug"))

    assert kind is ErrorKind.CONNECTION_ERROR
    assert message == "could not reach hooks.example:8443: RuntimeError"
    assert "unexpected error sending to hooks.example:8443" in caplog.text
