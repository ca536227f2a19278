import asyncio
import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from deliveries.engine.http import DeliveryRequest, send_blocking
from deliveries.engine.outcome import ErrorKind
from deliveries.engine.targets import (
    GuardedResolver,
    TargetPolicy,
    TargetRefused,
    check_url,
    is_forbidden_address,
)

STRICT = TargetPolicy(allow_http_local=False, allow_private=False)
DEV = TargetPolicy(allow_http_local=True, allow_private=True)
HTTP_LOCAL_ONLY = TargetPolicy(allow_http_local=True, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hooks",
        "https://example.com:8443/hooks?token=abc#frag",
        "https://sub.example.co.uk/",
        "https://bücher.example/",
        "https://8.8.8.8/",
        "https://[2001:4860:4860::8888]/",
        "https://under_score.example.com/",
        "https://example.com./",
    ],
)
def test_check_url_accepts_public_https_urls(url: str) -> None:
    check_url(url, STRICT)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/hook",
        "http://LOCALHOST/hook",
        "http://127.0.0.1:9000/",
        "http://127.5.6.7/",
        "http://[::1]:9000/",
        "https://localhost/",
    ],
)
def test_check_url_accepts_local_http_when_allowed(url: str) -> None:
    check_url(url, DEV)


@pytest.mark.parametrize(
    ("url", "policy", "complaint"),
    [
        ("ftp://example.com/", DEV, "https://"),
        ("example.com/hooks", DEV, "https://"),
        ("/relative", DEV, "https://"),
        ("http://example.com/", DEV, "only allowed for local hosts"),
        ("http://10.0.0.1/", DEV, "only allowed for local hosts"),
        ("http://localhost/", STRICT, "switched off"),
        ("https://user:pass@example.com/", DEV, "credentials"),
        ("https://user@example.com/", DEV, "credentials"),
        ("https:///path", DEV, "no host"),
        ("https://example.com:0/", DEV, "port"),
        ("https://example.com:99999/", DEV, "cannot be parsed"),
        ("https://exa mple.com/", DEV, "whitespace"),
        ("https://example.com/\n", DEV, "whitespace"),
        ("https://example.com\\@evil.com/", DEV, "backslash"),
        ("https://ex%41mple.com/", DEV, "valid host name"),
        ("https://-bad.example/", DEV, "valid host name"),
        ("https://2130706433/", DEV, "unusual form"),
        ("https://0x7f.1/", DEV, "unusual form"),
        ("https://127.1/", DEV, "unusual form"),
        ("https://10.0.0.1/", STRICT, "private or reserved"),
        ("https://[::1]/", STRICT, "private or reserved"),
        ("https://169.254.169.254/latest/meta-data/", STRICT, "private or reserved"),
        ("https://[::ffff:127.0.0.1]/", STRICT, "private or reserved"),
        ("http://127.0.0.1/", HTTP_LOCAL_ONLY, "private or reserved"),
    ],
)
def test_check_url_refuses_with_a_clear_message(
    url: str, policy: TargetPolicy, complaint: str
) -> None:
    with pytest.raises(TargetRefused, match=complaint):
        check_url(url, policy)


def test_check_url_refuses_overlong_urls() -> None:
    url = "https://example.com/" + "a" * 2028

    check_url(url, STRICT)
    with pytest.raises(TargetRefused, match="longer than 2048"):
        check_url(url + "a", STRICT)
    with pytest.raises(TargetRefused, match="longer than 100"):
        check_url("https://example.com/" + "a" * 100, STRICT, max_length=100)


def test_check_url_never_repeats_credentials_in_its_message() -> None:
    with pytest.raises(TargetRefused) as refused:
        check_url("https://alice:hunter2@example.com/", STRICT)

    assert "hunter2" not in str(refused.value)
    assert "alice" not in str(refused.value)


def test_check_url_allows_private_literals_when_the_policy_does() -> None:
    for url in ("https://10.0.0.1/", "https://[fd00::1]/", "https://192.168.1.5:8443/"):
        check_url(url, DEV)


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.100.100.200",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "0.0.0.0",  # noqa: S104 - an address under test, nothing binds to it
        "0.1.2.3",
        "192.0.2.1",
        "198.18.0.1",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "fec0::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:0001::",  # 6to4 for 127.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 for 10.0.0.1
        "2001:db8::1",
    ],
)
def test_is_forbidden_address_covers_non_public_ranges(address: str) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2002:808:808::"]
)
def test_is_forbidden_address_allows_public_addresses(address: str) -> None:
    assert not is_forbidden_address(ipaddress.ip_address(address))


class FixedResolver(AbstractResolver):
    """Answers every lookup with the same addresses, like a DNS server we control."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


def resolve(resolver: GuardedResolver, host: str = "hooks.example") -> list[str]:
    return [result["host"] for result in asyncio.run(resolver.resolve(host, 443))]


def test_guarded_resolver_drops_forbidden_addresses_and_keeps_public_ones() -> None:
    resolver = GuardedResolver(
        allow_private=False, resolver=FixedResolver("10.0.0.7", "93.184.216.34", "::1")
    )

    assert resolve(resolver) == ["93.184.216.34"]


def test_guarded_resolver_refuses_a_name_with_only_forbidden_addresses() -> None:
    resolver = GuardedResolver(
        allow_private=False, resolver=FixedResolver("127.0.0.1", "169.254.169.254")
    )

    with pytest.raises(TargetRefused, match=r"rebind\.example resolves only to private"):
        resolve(resolver, "rebind.example")


def test_guarded_resolver_passes_everything_when_private_targets_are_allowed() -> None:
    resolver = GuardedResolver(
        allow_private=True, resolver=FixedResolver("127.0.0.1", "93.184.216.34")
    )

    assert resolve(resolver) == ["127.0.0.1", "93.184.216.34"]


def test_guarded_resolver_refuses_localhost_through_the_real_resolver() -> None:
    with pytest.raises(TargetRefused, match="localhost"):
        resolve(GuardedResolver(allow_private=False), "localhost")

    assert "127.0.0.1" in resolve(GuardedResolver(allow_private=True), "localhost")


def test_guarded_resolver_closes_the_resolver_it_wraps() -> None:
    inner = FixedResolver("93.184.216.34")

    asyncio.run(GuardedResolver(allow_private=False, resolver=inner).close())

    assert inner.closed


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost./",
        "https://LOCALHOST./hook",
        "https://localhost/",
        "https://api.localhost/",
    ],
)
def test_check_url_refuses_localhost_names_as_loopback(url: str) -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        check_url(url, STRICT)


def test_check_url_allows_localhost_names_when_private_targets_are() -> None:
    check_url("https://localhost./", DEV)
    check_url("http://localhost.:8000/", DEV)


def test_check_url_refuses_host_labels_over_63_and_names_over_253_characters() -> None:
    label_63 = "a" * 63
    name_253 = ".".join([label_63, label_63, label_63, "b" * 61])
    assert len(name_253) == 253

    check_url(f"https://{label_63}.example.com/", STRICT)
    check_url(f"https://{name_253}/", STRICT)
    check_url(f"https://{name_253}./", STRICT)
    with pytest.raises(TargetRefused, match="longer than 63"):
        check_url(f"https://{'a' * 64}.example.com/", STRICT)
    with pytest.raises(TargetRefused, match="longer than 253"):
        check_url(f"https://{name_253}b/", STRICT)


def test_guarded_resolver_treats_localhost_with_a_trailing_dot_as_localhost() -> None:
    # The system resolver does not know `localhost.` (a DNS error); it is loopback by
    # definition, so it is refused as such, or reached as localhost when private targets are.
    with pytest.raises(TargetRefused, match="loopback"):
        resolve(GuardedResolver(allow_private=False), "localhost.")
    with pytest.raises(TargetRefused, match="loopback"):
        resolve(GuardedResolver(allow_private=False), "api.localhost")

    assert "127.0.0.1" in resolve(GuardedResolver(allow_private=True), "localhost.")


def test_a_send_to_localhost_with_a_trailing_dot_is_target_refused_not_dns() -> None:
    # given: the default policy (no private targets)
    request = DeliveryRequest(
        url="https://localhost./hook",
        body=b"{}",
        headers={"Content-Type": "application/json"},
        connect_timeout_seconds=1,
        total_timeout_seconds=2,
        max_redirects=20,
        policy=TargetPolicy(allow_http_local=False, allow_private=False),
    )

    # when
    result = send_blocking(request, allow_private=False)

    # then
    assert result.error_kind == ErrorKind.TARGET_REFUSED
    assert "loopback" in (result.error_message or "")
