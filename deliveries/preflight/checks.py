"""The checks themselves: each talks to the endpoint and returns a CheckResult."""

from __future__ import annotations

import ipaddress
import secrets as secrets_module
import socket
import ssl
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus

from yarl import URL

from deliveries.engine.http import DeliveryRequest, SendResult, send_blocking
from deliveries.engine.outcome import ErrorKind
from deliveries.engine.request import basic_authorization, delivery_headers
from deliveries.engine.signing import SignatureScheme, standard_webhooks_secret
from deliveries.engine.targets import (
    TargetPolicy,
    TargetRefused,
    check_url,
    is_forbidden_address,
)
from deliveries.preflight.results import (
    CERTIFICATE_WARN_DAYS,
    CHECK_TITLES,
    DEFAULT_EVENT_KEY,
    DEFAULT_USER_AGENT,
    MAX_ADDRESSES_TRIED,
    RESPONSE_EXCERPT_CHARS,
    SKIPPED_UNREACHABLE,
    CheckResult,
    CheckStatus,
    Resolver,
    display_url,
)
from events.catalog import EventType, event_type
from events.envelope import compact_json, render_envelope
from events.payloads import PayloadGenerator


def resolve_addresses(host: str, port: int) -> list[str]:
    """Return the addresses ``host`` resolves to for TCP, in resolver order, without repeats.

    Raises ``socket.gaierror`` when the name does not resolve.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def run_preflight(
    url: str,
    *,
    policy: TargetPolicy,
    secrets: Sequence[str] = (),
    username: str = "",
    password: str = "",
    connect_timeout_ms: int = 5000,
    request_timeout_ms: int = 30000,
    webhook_id: str | None = None,
    user_agent: str = DEFAULT_USER_AGENT,
    max_redirects: int = 20,
    event_key: str = DEFAULT_EVENT_KEY,
    seed: int | None = None,
    resolver: Resolver = resolve_addresses,
    signature_scheme: str = SignatureScheme.TILLHUB,
    headers: Mapping[str, str] | None = None,
) -> list[CheckResult]:
    """Run the checklist against ``url`` and return the nine results in order.

    ``secrets`` sign the test events, newest first, under ``signature_scheme`` (none: a
    throwaway secret of the scheme's form, and the signed event check says so); ``headers``
    are the subscription's own extra ones, sent as deliveries send them. Sends up to four
    POSTs of one realistic ``event_key`` event; changes nothing on our side. Network and HTTP
    problems come back as results, never as exceptions. Blocking; must not be called from a
    running event loop. Raises ``UnknownEventKey`` for an ``event_key`` outside the catalog.
    """
    event = event_type(event_key)  # UnknownEventKey before any traffic
    return _Preflight(
        url=url,
        policy=policy,
        secrets=tuple(secrets),
        authorization=basic_authorization(username, password),
        connect_timeout_ms=connect_timeout_ms,
        request_timeout_ms=request_timeout_ms,
        webhook_id=webhook_id or str(uuid.uuid4()),
        user_agent=user_agent,
        max_redirects=max_redirects,
        event=event,
        seed=seed,
        resolver=resolver,
        signature_scheme=signature_scheme,
        extra_headers=dict(headers or {}),
    ).run()


@dataclass
class _Preflight:
    url: str
    policy: TargetPolicy
    secrets: tuple[str, ...]
    authorization: str | None
    connect_timeout_ms: int
    request_timeout_ms: int
    webhook_id: str
    user_agent: str
    max_redirects: int
    event: EventType
    seed: int | None
    resolver: Resolver
    signature_scheme: str
    extra_headers: dict[str, str]
    # Filled in as the checks go.
    host: str = ""
    port: int = 0
    addresses: list[str] = field(default_factory=list)  # those deliveries may use
    connected_address: str | None = None
    body: bytes = b""
    event_id: str = ""
    throwaway_secret: str = ""

    def __post_init__(self) -> None:
        self.throwaway_secret = self._random_secret()

    def _random_secret(self) -> str:
        """A secret of the scheme's form that the endpoint cannot know."""
        if self.signature_scheme == SignatureScheme.STANDARD_WEBHOOKS:
            return standard_webhooks_secret(secrets_module.token_bytes(32))
        return secrets_module.token_urlsafe(32)

    def run(self) -> list[CheckResult]:
        results = [self.check_url_rules()]
        if results[0].status is CheckStatus.FAIL:
            return results + _skip(list(CHECK_TITLES)[1:], "skipped: the URL is refused")
        parsed = URL(self.url)
        self.host = (parsed.raw_host or "").rstrip(".")
        self.port = int(parsed.port or 443)
        for check in (self.check_dns, self.check_tcp, self.check_https):
            results.append(check())
            if results[-1].status is CheckStatus.FAIL:
                remaining = list(CHECK_TITLES)[len(results) :]
                return results + _skip(remaining, f"{SKIPPED_UNREACHABLE} ({results[-1].title})")
        self.body = self._test_body()
        signed = self._send(self._signed_headers())
        results += [self.check_response_time(signed), self.check_signed_event(signed)]
        if not signed.ok:
            reason = "skipped: the signed test event was not accepted"
            return results + _skip(["bad_signature", "idempotency", "basic_auth"], reason)
        results += [self.check_bad_signature(), self.check_idempotency(), self.check_basic_auth()]
        return results

    # 1-4: the way there -------------------------------------------------------------------

    def check_url_rules(self) -> CheckResult:
        try:
            check_url(self.url, self.policy)
        except TargetRefused as refused:
            return CheckResult(
                "url",
                CheckStatus.FAIL,
                f"refused: {refused}",
                "Use an https:// URL with a public host name, no credentials in it and a "
                "port between 1 and 65535.",
            )
        return CheckResult("url", CheckStatus.PASS, f"{display_url(self.url)} is accepted")

    def check_dns(self) -> CheckResult:
        try:
            addresses = list(self.resolver(self.host, self.port))
        except (socket.gaierror, UnicodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            return CheckResult(
                "dns",
                CheckStatus.FAIL,
                f"could not resolve {self.host}: {reason}",
                "Check the host name, and that its A/AAAA records are published in public DNS.",
            )
        if not addresses:
            return CheckResult(
                "dns", CheckStatus.FAIL, f"{self.host} resolves to no address", _DNS_ADVICE
            )
        forbidden = {a: _address_kind(a) for a in addresses if _is_forbidden(a)}
        listed = ", ".join(addresses)
        data = {"addresses": addresses, "private": sorted(forbidden)}
        self.addresses = [a for a in addresses if self.policy.allow_private or a not in forbidden]
        if not forbidden:
            return CheckResult("dns", CheckStatus.PASS, f"resolves to {listed}", data=data)
        kinds = ", ".join(f"{address} is {kind}" for address, kind in forbidden.items())
        if self.policy.allow_private:
            return CheckResult(
                "dns",
                CheckStatus.WARN,
                f"resolves to {listed} ({kinds}); reachable only because private targets are "
                "allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS)",
                "Fine for local testing. Tillhub's servers cannot reach private or loopback "
                "addresses: production endpoints need a public address.",
                data,
            )
        if not self.addresses:
            return CheckResult(
                "dns",
                CheckStatus.FAIL,
                f"resolves only to private or reserved addresses ({kinds}); Hookline refuses "
                "to deliver there (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)",
                "Publish the endpoint on a public address.",
                data,
            )
        return CheckResult(
            "dns",
            CheckStatus.WARN,
            f"resolves to {listed} ({kinds}); deliveries use only the public addresses",
            "Remove the private addresses from the host's DNS records.",
            data,
        )

    def check_tcp(self) -> CheckResult:
        timeout = self.connect_timeout_ms / 1000
        failures = []
        for address in self.addresses[:MAX_ADDRESSES_TRIED]:
            started = time.perf_counter()
            try:
                socket.create_connection((address, self.port), timeout=timeout).close()
            except TimeoutError:
                failures.append(f"{_host_port(address, self.port)}: no answer within {timeout:g} s")
                continue
            except OSError as error:
                reason = error.strerror or type(error).__name__
                failures.append(f"{_host_port(address, self.port)}: {reason}")
                continue
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.connected_address = address
            detail = f"connected to {_host_port(address, self.port)} in {elapsed_ms:.1f} ms"
            if failures:
                detail += f" (failed first: {'; '.join(failures)})"
            return CheckResult(
                "tcp", CheckStatus.PASS, detail, data={"address": address, "ms": elapsed_ms}
            )
        return CheckResult(
            "tcp",
            CheckStatus.FAIL,
            "could not connect: " + "; ".join(failures),
            f"Check that the server runs and listens on port {self.port}, and that firewalls "
            "let connections in from the internet.",
        )

    def check_https(self) -> CheckResult:
        if URL(self.url).scheme != "https":
            return CheckResult(
                "https",
                CheckStatus.WARN,
                "not HTTPS; Tillhub requires https in production",
                "Serve the endpoint over https:// with a certificate from a public CA.",
            )
        assert self.connected_address is not None
        timeout = self.connect_timeout_ms / 1000
        context = ssl.create_default_context()
        try:
            with (
                socket.create_connection((self.connected_address, self.port), timeout) as raw,
                context.wrap_socket(raw, server_hostname=self.host) as tls,
            ):
                certificate = tls.getpeercert() or {}
                version = tls.version()
        except ssl.SSLCertVerificationError as error:
            return _certificate_failure(f"certificate not valid: {error.verify_message}")
        except ssl.SSLError as error:
            return _certificate_failure(f"TLS handshake failed: {error.reason or error}")
        except TimeoutError:
            return _certificate_failure(f"no TLS handshake within {timeout:g} s")
        except OSError as error:
            return _certificate_failure(f"TLS connection failed: {error.strerror or error}")
        expires = float(ssl.cert_time_to_seconds(str(certificate["notAfter"])))
        days_left = int((expires - time.time()) // 86400)
        expiry = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d")
        data = {"days_left": days_left, "expires": expiry, "tls_version": version}
        detail = f"valid certificate ({version}), expires {expiry}, in {days_left} days"
        if days_left < CERTIFICATE_WARN_DAYS:
            advice = "Renew the certificate now; expired certificates stop every delivery."
            return CheckResult("https", CheckStatus.WARN, detail, advice, data)
        return CheckResult("https", CheckStatus.PASS, detail, data=data)

    # 5-9: the test events -----------------------------------------------------------------

    def check_response_time(self, signed: SendResult) -> CheckResult:
        timeout_ms = self.request_timeout_ms
        data = {"ms": round(signed.duration_ms, 1), "timeout_ms": timeout_ms}
        if signed.status is None:
            if signed.error_kind is ErrorKind.TIMEOUT:
                detail = f"no complete response within the {timeout_ms} ms timeout"
            else:
                detail = f"no response: {signed.error_message}"
            return CheckResult("response_time", CheckStatus.FAIL, detail, _SLOW_ADVICE, data)
        detail = f"answered in {signed.duration_ms:.0f} ms (timeout {timeout_ms} ms)"
        if signed.duration_ms > timeout_ms / 2:
            detail += ": more than half the timeout"
            return CheckResult("response_time", CheckStatus.WARN, detail, _SLOW_ADVICE, data)
        return CheckResult("response_time", CheckStatus.PASS, detail, data=data)

    def check_signed_event(self, signed: SendResult) -> CheckResult:
        data = {"status": signed.status, "event_id": self.event_id, "event": self.event.key}
        if signed.ok:
            detail = f"{_answer(signed)} for {self.event.key} event {self.event_id}"
            advice = ""
            if not self.secrets:
                detail += ", signed with a throwaway secret (none was given)"
            if signed.hops:
                final_url = display_url(signed.final_url)
                detail += f" after {len(signed.hops)} redirect(s) to {final_url}"
                advice = "Point the subscription at the final URL to save a round trip."
            return CheckResult("signed_event", CheckStatus.PASS, detail, advice, data)
        if signed.status is None:
            detail = f"no response: {signed.error_message}"
            advice = "Make the endpoint answer a POST with a 2xx status."
        elif signed.error_kind is not ErrorKind.HTTP_STATUS:
            detail = f"{_answer(signed)}: {signed.error_message}"
            advice = "Make the endpoint answer the POST itself with a 2xx status."
        else:
            detail = f"{_answer(signed)} instead of a 2xx"
            advice = self._advice_for_rejected(signed.status)
        return CheckResult("signed_event", CheckStatus.FAIL, detail, advice, data)

    def check_bad_signature(self) -> CheckResult:
        wrong_secret = self._random_secret()
        result = self._send(self._signed_headers(secrets=(wrong_secret,)))
        data = {"status": result.status}
        if result.status is not None and 400 <= result.status < 500:
            detail = f"the wrong signature was refused: {_answer(result)}"
            return CheckResult("bad_signature", CheckStatus.PASS, detail, data=data)
        if result.ok:
            if self.signature_scheme == SignatureScheme.STANDARD_WEBHOOKS:
                detail = "endpoint accepted a bad signature — it does not verify webhook-signature"
                advice = (
                    "Verify with a Standard Webhooks library (or compute base64(HMAC-SHA256("
                    "base64-decoded whsec_ secret, webhook-id + '.' + webhook-timestamp + '.' + "
                    "raw body)) and compare it with every v1, entry of webhook-signature); "
                    "answer 400 or 401 on a mismatch."
                )
            else:
                detail = "endpoint accepted a bad signature — it does not verify Tillhub-Signature"
                advice = (
                    "Compute base64(HMAC-SHA256(secret, t + '.' + raw body)) and compare it with "
                    "every v1= of the Tillhub-Signature header; answer 400 or 401 on a mismatch."
                )
            return CheckResult("bad_signature", CheckStatus.WARN, detail, advice, data)
        answer = _answer(result) if result.status else f"no response ({result.error_message})"
        return CheckResult(
            "bad_signature",
            CheckStatus.WARN,
            f"{answer} to a wrong signature; expected a 4xx",
            "Answer a 4xx to a signature that does not verify: a 5xx or no answer makes "
            "Tillhub retry a request that can never succeed.",
            data,
        )

    def check_idempotency(self) -> CheckResult:
        result = self._send(self._signed_headers())
        data = {"status": result.status, "event_id": self.event_id}
        if result.ok:
            detail = f"{_answer(result)} for event_id {self.event_id} sent again"
            return CheckResult("idempotency", CheckStatus.PASS, detail, data=data)
        answer = _answer(result) if result.status else f"no response ({result.error_message})"
        return CheckResult(
            "idempotency",
            CheckStatus.WARN,
            f"{answer} for an event_id it had already accepted",
            "Delivery is at least once: the same event_id can arrive again. Answer 2xx to a "
            "repeat and skip processing it twice; otherwise it is retried for days.",
            data,
        )

    def check_basic_auth(self) -> CheckResult:
        if self.authorization is None:
            return CheckResult("basic_auth", CheckStatus.SKIPPED, "skipped: no username configured")
        result = self._send(self._signed_headers(with_authorization=False))
        data = {"status": result.status}
        if result.status in (401, 403):
            detail = f"a request without credentials was refused: {_answer(result)}"
            return CheckResult("basic_auth", CheckStatus.PASS, detail, data=data)
        answer = _answer(result) if result.status else f"no response ({result.error_message})"
        detail = f"{answer} to a request without credentials; expected 401 or 403"
        if result.ok:
            detail = f"endpoint accepted a request without credentials ({answer})"
        return CheckResult(
            "basic_auth",
            CheckStatus.WARN,
            detail,
            "Check the Authorization: Basic header against the configured username and "
            "password and answer 401 when it is missing or wrong.",
            data,
        )

    # sending --------------------------------------------------------------------------------

    def _test_body(self) -> bytes:
        payload = PayloadGenerator(self.seed).payload(self.event.key)
        self.event_id = str(uuid.uuid4())
        return render_envelope(
            webhook_id=self.webhook_id,
            event_id=self.event_id,
            event_entity=self.event.entity,
            event_type=self.event.action,
            event_version=self.event.version,
            entity_instance_id=str(payload["id"]),
            timestamp=datetime.now(UTC),
            payload_json=compact_json(payload),
        )

    def _signed_headers(
        self, *, secrets: Sequence[str] | None = None, with_authorization: bool = True
    ) -> dict[str, str]:
        """The SPEC section 1 headers, signed now with ``secrets`` (default: the configured
        ones, or a throwaway secret when none are)."""
        return delivery_headers(
            body=self.body,
            signing_secrets=secrets or self.secrets or (self.throwaway_secret,),
            user_agent=self.user_agent,
            authorization=self.authorization if with_authorization else None,
            signature_scheme=self.signature_scheme,
            event_id=self.event_id,
            extra_headers=self.extra_headers,
        )

    def _send(self, headers: Mapping[str, str]) -> SendResult:
        request = DeliveryRequest(
            url=self.url,
            body=self.body,
            headers=headers,
            connect_timeout_seconds=self.connect_timeout_ms / 1000,
            total_timeout_seconds=self.request_timeout_ms / 1000,
            max_redirects=self.max_redirects,
            policy=self.policy,
            origin_only_headers=frozenset(name.lower() for name in self.extra_headers),
        )
        return send_blocking(request, allow_private=self.policy.allow_private)

    def _advice_for_rejected(self, status: int) -> str:
        if status in (401, 403) and self.authorization is None:
            return "The endpoint wants credentials: configure the username and password."
        if status in (401, 403):
            return "Check that the configured username and password match the endpoint's."
        if 400 <= status < 500 and not self.secrets:
            return (
                "No signing secret was given, so the event was signed with a throwaway one: "
                "give the subscription's secret and run again."
            )
        if 400 <= status < 500:
            return (
                "Check the endpoint verifies with this subscription's secret, over the raw body "
                "bytes, and accepts every event key it subscribes to."
            )
        if status == 410:
            return "410 Gone deactivates the subscription; answer 2xx while the endpoint is live."
        return "The endpoint failed: see its logs. Tillhub retries until it answers 2xx."


_DNS_ADVICE = "Publish an A or AAAA record for the host."
_SLOW_ADVICE = (
    "Answer within a fraction of the timeout: acknowledge with a 2xx at once and do the work "
    "afterwards (a queue), or raise the subscription's request timeout."
)


def _skip(names: Sequence[str], reason: str) -> list[CheckResult]:
    return [CheckResult(name, CheckStatus.SKIPPED, reason) for name in names]


def _certificate_failure(detail: str) -> CheckResult:
    return CheckResult(
        "https",
        CheckStatus.FAIL,
        detail,
        "Use a certificate from a public CA (e.g. Let's Encrypt) that covers the host name and "
        "is served with its full chain. TLS failures are not retried automatically.",
    )


def _is_forbidden(address: str) -> bool:
    try:
        return is_forbidden_address(ipaddress.ip_address(address))
    except ValueError:
        return True  # not an address we can vouch for


def _address_kind(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not an IP address"
    for kind in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return "not publicly routable"


def _answer(result: SendResult) -> str:
    """``HTTP 400 Bad Request in 12 ms: {"error":...}``; the body quoted when there is one."""
    assert result.status is not None
    try:
        reason = HTTPStatus(result.status).phrase
    except ValueError:
        reason = ""
    text = f"HTTP {result.status} {reason}".rstrip() + f" in {result.duration_ms:.0f} ms"
    excerpt = " ".join(result.response_body.split())[:RESPONSE_EXCERPT_CHARS]
    return f"{text}: {excerpt}" if excerpt and not result.ok else text


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
