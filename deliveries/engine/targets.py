"""Which URLs and addresses a delivery may reach (SPEC section 4).

Two layers, because a URL can be checked before it is used but a DNS name only when it is used:

- ``check_url``: static rules for a URL string, applied when a subscription is created and again
  to every redirect hop. A host written as an IP address is judged here.
- ``GuardedResolver``: aiohttp's resolver, filtered. aiohttp connects to exactly the addresses the
  resolver returns, so there is no second lookup that a DNS-rebinding answer could change between
  "checked" and "connected". aiohttp does not ask the resolver about literal IP hosts, which is why
  ``check_url`` must run on every hop.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Characters: browsers and servers disagree on how URLs with these parse, so we refuse them
# rather than guess which host a receiver meant.
_UNSAFE_URL_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
# A registered name after IDNA encoding: letters, digits, hyphen, underscore, dots.
_HOSTNAME = re.compile(
    r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$"
)
# A last label of digits or 0x-hex makes the host an IPv4 address in some parser's eyes
# (``2130706433``, ``0x7f.1``, ``127.1`` all mean 127.0.0.1 to getaddrinfo).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")

_LOCAL_HOSTNAMES = frozenset({"localhost"})
# RFC 1035: a label has at most 63 octets, a name at most 253 characters written out (255 on
# the wire). Longer ones cannot be looked up, so a URL with one could never be delivered to.
MAX_HOST_LABEL_LENGTH = 63
MAX_HOSTNAME_LENGTH = 253
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052, embeds an IPv4 address
_CLOUD_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)


class TargetRefused(Exception):
    """A URL or address a delivery must not reach. The message is for people and never holds a
    credential or a full URL (query strings carry tokens)."""


@dataclass(frozen=True)
class TargetPolicy:
    """The two switches of SPEC section 4: ``WEBHOOK_ALLOW_HTTP_LOCAL`` and
    ``WEBHOOK_ALLOW_PRIVATE_TARGETS``."""

    allow_http_local: bool
    allow_private: bool


def is_forbidden_address(ip: IPAddress) -> bool:
    """Return True for an address a webhook must not reach unless private targets are allowed.

    Forbidden: private, loopback, link-local, shared (100.64.0.0/10), multicast, reserved,
    unspecified, cloud metadata, anything else not globally routable, and IPv6 forms that embed
    such an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64).
    """
    if ip.version == 6:
        assert isinstance(ip, ipaddress.IPv6Address)
        embedded = _embedded_ipv4(ip)
        if embedded is not None and is_forbidden_address(embedded):
            return True
    if ip in _CLOUD_METADATA:
        return True
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE:
        return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
        or not ip.is_global
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address that ``ip`` tunnels or translates to, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # (server, client); the client is where packets end up
    if ip in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _parse_ip(host: str) -> IPAddress | None:
    """Return ``host`` as an IP address, or None when it is a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_local_host(host: str) -> bool:
    """Return True for the hosts that may be reached over plain http: ``localhost``,
    127.0.0.0/8 and ``::1`` (with or without a trailing dot on the name)."""
    name = host.lower().rstrip(".")
    if name in _LOCAL_HOSTNAMES:
        return True
    ip = _parse_ip(name)
    return ip is not None and ip.is_loopback


def is_localhost_name(host: str) -> bool:
    """Return True for ``localhost`` and names under it (``api.localhost``), with or without a
    trailing dot: RFC 6761 reserves them for the loopback interface, whatever DNS says."""
    name = host.lower().rstrip(".")
    return name in _LOCAL_HOSTNAMES or name.endswith(".localhost")


def check_url(url: str, policy: TargetPolicy, *, max_length: int = 2048) -> None:
    """Return None when ``url`` may be a delivery target or redirect hop; raise ``TargetRefused``
    with a message saying why not otherwise (see ``_check_url_uncached`` for the rules).

    The rules depend on nothing but the arguments, and every delivery checks its URL, so the
    answers for recent URLs are kept: the sender checks a string it has seen before in a
    dictionary lookup instead of a parse.
    """
    refusal = _refusal(url, policy, max_length)
    if refusal is not None:
        raise TargetRefused(refusal)


@functools.lru_cache(maxsize=4096)
def _refusal(url: str, policy: TargetPolicy, max_length: int) -> str | None:
    try:
        _check_url_uncached(url, policy, max_length=max_length)
    except TargetRefused as refused:
        return str(refused)
    return None


def _check_url_uncached(url: str, policy: TargetPolicy, *, max_length: int) -> None:
    """``check_url`` without the memory of earlier answers.

    Rules: at most ``max_length`` characters, no whitespace, control characters or backslashes,
    an absolute ``https`` URL (``http`` only for a local host when ``policy.allow_http_local``),
    no ``user:password@``, a host that is a valid name or IP address, a port in 1..65535, and,
    unless ``policy.allow_private``, a host that is not literally a forbidden address.
    """
    if len(url) > max_length:
        raise TargetRefused(f"URL is longer than {max_length} characters")
    if _UNSAFE_URL_CHARACTERS.search(url):
        raise TargetRefused("URL contains whitespace, control characters or a backslash")
    try:
        parsed = URL(url)
        host = parsed.raw_host
        port = parsed.port
    except ValueError as exc:
        raise TargetRefused(f"URL cannot be parsed: {exc}") from None
    scheme = parsed.scheme
    if scheme not in ("http", "https"):
        raise TargetRefused(f"URL must start with https:// (got {scheme or 'no'} scheme)")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise TargetRefused(
            "URL must not contain credentials (user:password@); set username and password instead"
        )
    if not host or not parsed.is_absolute():
        raise TargetRefused("URL has no host")
    host = host.lower()
    ip = _parse_ip(host.split("%", 1)[0] if ":" in host else host.rstrip("."))
    if ip is None:
        _check_hostname(host)
    if port is None or not 1 <= port <= 65535:
        raise TargetRefused("URL port must be between 1 and 65535")
    if scheme == "http":
        if not is_local_host(host):
            raise TargetRefused("URL must use https:// (http:// is only allowed for local hosts)")
        if not policy.allow_http_local:
            raise TargetRefused("URL must use https:// (http:// to local hosts is switched off)")
    if ip is not None and not policy.allow_private and is_forbidden_address(ip):
        raise TargetRefused(f"host {_display_host(host)} is a private or reserved address")
    if ip is None and not policy.allow_private and is_localhost_name(host):
        raise TargetRefused(f"host {host} is a loopback address")


def _check_hostname(host: str) -> None:
    """Raise ``TargetRefused`` unless ``host`` is a plain DNS name that no parser reads as IPv4."""
    if not _HOSTNAME.match(host):
        raise TargetRefused("URL host is not a valid host name")
    name = host.rstrip(".")
    if len(name) > MAX_HOSTNAME_LENGTH:
        raise TargetRefused(f"URL host is longer than {MAX_HOSTNAME_LENGTH} characters")
    if any(len(label) > MAX_HOST_LABEL_LENGTH for label in name.split(".")):
        raise TargetRefused(
            f"URL host has a part (between dots) longer than {MAX_HOST_LABEL_LENGTH} characters"
        )
    last_label = host.rstrip(".").rsplit(".", 1)[-1]
    if _NUMERIC_LABEL.match(last_label):
        raise TargetRefused(
            "URL host looks like an IP address in an unusual form; write it as a.b.c.d"
        )


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that drops forbidden addresses unless ``allow_private``.

    Raises ``TargetRefused`` when a name resolves only to forbidden addresses; the sender reports
    that as ``ErrorKind.TARGET_REFUSED``. Lookup failures (``socket.gaierror``) pass through and
    become ``ErrorKind.DNS``. ``localhost`` names (``localhost.``, ``api.localhost``) are
    loopback by definition: refused without a lookup, or looked up as ``localhost`` when private
    targets are allowed (the system resolver knows ``localhost`` only without the dot).
    """

    def __init__(self, *, allow_private: bool, resolver: AbstractResolver | None = None) -> None:
        self.allow_private = allow_private
        # ThreadedResolver needs a running loop, so it is made on first use.
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if is_localhost_name(host):
            if not self.allow_private:
                raise TargetRefused(f"host {host} is a loopback address")
            host = "localhost"
        if self._resolver is None:
            self._resolver = ThreadedResolver()
        results = await self._resolver.resolve(host, port, family)
        if self.allow_private:
            return results
        allowed = [r for r in results if not _is_forbidden_result(r)]
        if results and not allowed:
            raise TargetRefused(
                f"host {host} resolves only to private or reserved addresses "
                f"({', '.join(sorted({r['host'] for r in results}))})"
            )
        return allowed

    async def close(self) -> None:
        if self._resolver is not None:
            await self._resolver.close()


def _is_forbidden_result(result: ResolveResult) -> bool:
    ip = _parse_ip(result["host"])
    # An answer we cannot read as an address is not one we can vouch for.
    return ip is None or is_forbidden_address(ip)
