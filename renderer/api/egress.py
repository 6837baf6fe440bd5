"""Where webhook deliveries may go: public addresses only, unless ``webhook_allow_private`` is on.

Checked twice, so an API key holder cannot make the API POST to loopback, private, link-local or
cloud-metadata addresses (``169.254.169.254``):

* when a URL is registered (``POST /webhooks``, a render's ``webhook_url``), `require_allowed`
  refuses credentials in the URL, schemes other than http(s), and hosts that are, or resolve to,
  any address that is not public (a host that does not resolve is refused too);
* when the dispatcher connects, `delivery_client`'s connections resolve the host themselves,
  refuse it when any address is not public, and connect to the checked address, so a DNS answer
  that changes after registration (rebinding) cannot reach an internal host either.

Every lookup (at registration and per connection) is bounded by ``webhook_timeout_s``: the
resolver runs on a daemon thread and a lookup past the limit counts as a host that does not
resolve, so a slow DNS server can stall neither a request nor the dispatcher.

"Public" is `ipaddress`'s ``is_global`` (multicast excepted); an IPv4 address carried inside
IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64 ``64:ff9b::/96``) is judged as that IPv4
address. With ``webhook_allow_private`` (on-premise receivers, the tests) only the URL's scheme
and credentials are checked, and nothing is resolved at registration.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

import httpcore
import httpx

from renderer.api.errors import ApiError
from renderer.settings import Settings

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str, int], list[IPAddress]]
NOT_ALLOWED = "address not allowed"
_NAT64 = ip_network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class AddressNotAllowed(httpcore.ConnectError):
    """A delivery's host is (or resolves to) an address that is not public."""


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def address_allowed(address: IPAddress) -> bool:
    """Whether `address` is a public unicast address (an IPv4 one inside IPv6 judged as itself)."""
    if isinstance(address, IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not address_allowed(inner):
            return False
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to for TCP, in the resolver's order, without repeats;
    OSError when it does not resolve."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [ip_address(info[4][0]) for info in infos]
    return list(dict.fromkeys(addresses))


class LookupTimeout(OSError):
    """A DNS lookup ran past its time limit."""


def resolve_within(resolver: Resolver, host: str, port: int, timeout_s: float | None) -> list[IPAddress]:
    """`resolver(host, port)` within `timeout_s` (None: unbounded); LookupTimeout past it (the
    lookup finishes on its daemon thread, and its answer is dropped)."""
    if timeout_s is None:
        return resolver(host, port)
    outcome: list[list[IPAddress] | BaseException] = []

    def lookup() -> None:
        try:
            outcome.append(resolver(host, port))
        except BaseException as exc:  # handed to the caller
            outcome.append(exc)

    worker = threading.Thread(target=lookup, name="tailor-dns", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not outcome:
        raise LookupTimeout(f"DNS lookup took longer than {timeout_s:g} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _all_allowed(addresses: Iterable[IPAddress]) -> bool:
    checked = list(addresses)
    return bool(checked) and all(address_allowed(address) for address in checked)


def url_refusal(
    url: str, *, allow_private: bool, resolver: Resolver = resolve, timeout_s: float | None = None
) -> str | None:
    """Why webhooks may not be sent to `url`, or None when they may; the host's lookup takes at
    most `timeout_s`. The reason quotes no part of the URL (it may hold credentials)."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        return "must be an http or https URL"
    if parts.username is not None or parts.password is not None:
        return "must not contain credentials"
    if not parts.hostname:
        return "has no host"
    if allow_private:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        addresses = resolve_within(resolver, parts.hostname, port, timeout_s)
    except LookupTimeout:
        return "has a host that does not resolve in time"
    except (OSError, ValueError):  # ValueError: a bad port, UnicodeError: a bad name
        return "has a host that does not resolve"
    return None if _all_allowed(addresses) else "must point at a public address"


def require_allowed(url: str, settings: Settings, field: str) -> None:
    """Raise ApiError 422 ``webhook_url_not_allowed`` (naming `field`) unless webhooks may be sent
    to `url` under `settings`; blocks while the host is resolved (``webhook_timeout_s`` at most)."""
    reason = url_refusal(
        url, allow_private=settings.webhook_allow_private, timeout_s=settings.webhook_timeout_s
    )
    if reason is not None:
        raise ApiError(422, "webhook_url_not_allowed", f"{field} {reason}", field=field)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's `SyncBackend` that connects only to public addresses: it resolves the host,
    raises `AddressNotAllowed` when any address is not public, and connects to a checked address
    (never resolving again). With `allow_private` it connects to any address the host has."""

    def __init__(self, *, allow_private: bool = False, resolver: Resolver = resolve) -> None:
        self.allow_private, self.resolver = allow_private, resolver
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """A connection to `host`, only at a public address unless private ones are allowed; the
        lookup and each connection attempt take at most `timeout` (the client's connect timeout)."""
        try:
            addresses = resolve_within(self.resolver, host, port, timeout)
        except LookupTimeout:
            raise httpcore.ConnectTimeout("DNS lookup timed out") from None
        except (OSError, ValueError) as exc:
            raise httpcore.ConnectError(type(exc).__name__) from None
        if not self.allow_private and not _all_allowed(addresses):
            raise AddressNotAllowed(NOT_ALLOWED)
        failure: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Never: deliveries go over TCP only."""
        raise AddressNotAllowed(NOT_ALLOWED)

    def sleep(self, seconds: float) -> None:
        """Sleep as `SyncBackend` does (the pool's retries)."""
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport (no proxy from the environment) connecting through a `GuardedBackend`."""

    def __init__(self, *, allow_private: bool = False) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend, so its connection pool (private `_pool`) is replaced here,
        # and only here; test_api_webhooks.py's guarded-delivery tests fail if this stops working.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=GuardedBackend(allow_private=allow_private),
        )


def delivery_client(settings: Settings) -> httpx.Client:
    """The dispatcher's client: guarded connections (public addresses unless
    ``webhook_allow_private``), no redirects followed, no proxy from the environment."""
    transport = GuardedTransport(allow_private=settings.webhook_allow_private)
    return httpx.Client(transport=transport, follow_redirects=False, trust_env=False)
