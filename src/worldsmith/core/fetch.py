"""Fetch a user-supplied URL to a file without letting it reach into our network.

The World API accepts media as ``{"source": "uri", "uri": ...}``. That URL is
chosen by the caller, so fetching it naively is a server-side request forgery
hole: it could point at ``localhost``, a cloud metadata endpoint, or a name
whose DNS answer changes between our check and our connect (DNS rebinding).

Every hop - the first request and each redirect - therefore goes through the
same rules: http/https only, no credentials in the URL, the host resolved
exactly once (in a worker thread), every resolved address must be public, and
the TCP connection goes to the address we checked. The original host name is
still sent as ``Host`` and used for TLS SNI and certificate verification, so
virtual hosting and HTTPS work as usual.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread
import httpx

from worldsmith.core.units import format_size

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WRITE_BATCH_BYTES = 1 << 20
_MAX_URL_LENGTH = 8192
_HOST_NAME = re.compile(
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?"
)
_REQUEST_HEADERS = {
    "User-Agent": "worldsmith-fetch/1",
    "Accept": "*/*",
    # We store the bytes exactly as served; decoding gzip ourselves would let a
    # small response inflate far past max_bytes inside a single chunk.
    "Accept-Encoding": "identity",
}


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch; callers pick them per media kind."""

    max_bytes: int
    timeout_s: float = 20.0
    max_redirects: int = 5
    allow_private: bool = False
    allowed_content_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FetchedFile:
    """What landed on disk. ``content_type`` is the server's claim, not verified."""

    path: Path
    size: int
    content_type: str | None
    sha256: str
    final_url: str


class FetchError(Exception):
    """A fetch failed for a reason we can explain to the person who sent the URL."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- address rules -----------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    network: IPNetwork
    label: str
    private_ok: bool = False


def _rule(cidr: str, label: str, private_ok: bool = False) -> _Rule:
    return _Rule(ipaddress.ip_network(cidr), label, private_ok)


# Explicit tables rather than only ``is_global``: its answers differ between
# Python releases and miss ranges (CGNAT, NAT64, 6to4) that can reach us.
_V4_RULES = (
    _rule("0.0.0.0/8", "an unspecified address"),
    _rule("127.0.0.0/8", "a loopback address", private_ok=True),
    _rule("10.0.0.0/8", "a private address", private_ok=True),
    _rule("172.16.0.0/12", "a private address", private_ok=True),
    _rule("192.168.0.0/16", "a private address", private_ok=True),
    _rule("100.64.0.0/10", "a carrier-grade NAT address"),
    _rule("169.254.0.0/16", "a link-local address"),
    _rule("192.0.0.0/24", "a reserved address"),
    _rule("192.0.2.0/24", "a documentation address"),
    _rule("198.51.100.0/24", "a documentation address"),
    _rule("203.0.113.0/24", "a documentation address"),
    _rule("198.18.0.0/15", "a benchmarking address"),
    _rule("192.88.99.0/24", "a reserved address"),
    _rule("224.0.0.0/4", "a multicast address"),
    _rule("255.255.255.255/32", "a broadcast address"),
    _rule("240.0.0.0/4", "a reserved address"),
)
_V6_RULES = (
    _rule("::/128", "an unspecified address"),
    _rule("::1/128", "a loopback address", private_ok=True),
    _rule("::/96", "an IPv4-compatible address"),
    _rule("64:ff9b::/96", "a NAT64 address"),
    _rule("64:ff9b:1::/48", "a NAT64 address"),
    _rule("100::/64", "a reserved address"),
    _rule("fc00::/7", "a private address", private_ok=True),
    _rule("fe80::/10", "a link-local address"),
    _rule("fec0::/10", "a site-local address"),
    _rule("ff00::/8", "a multicast address"),
    _rule("2001:db8::/32", "a documentation address"),
    _rule("3fff::/20", "a documentation address"),
    _rule("2001::/23", "a reserved address"),
    _rule("2002::/16", "a 6to4 address"),
)
_V6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _parse_address(address: str | IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return address
    # Drop an IPv6 zone ("fe80::1%eth0"): it never makes an address public.
    return ipaddress.ip_address(address.split("%", 1)[0])


def _connect_form(ip: IPAddress) -> IPAddress:
    """Unwrap ``::ffff:a.b.c.d`` so we connect to (and judge) the real IPv4 host."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def blocked_reason(address: str | IPAddress, *, allow_private: bool = False) -> str | None:
    """Say why an address may not be fetched ("a loopback address"), or None if it may.

    ``allow_private`` admits loopback and private ranges for local testing only;
    link-local (cloud metadata), unspecified, multicast and the rest stay blocked.
    """
    ip = _connect_form(_parse_address(address))
    rules = _V4_RULES if isinstance(ip, ipaddress.IPv4Address) else _V6_RULES
    for rule in rules:
        if ip in rule.network:
            return None if (allow_private and rule.private_ok) else rule.label
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _V6_GLOBAL_UNICAST:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def check_address(address: str | IPAddress, *, allow_private: bool = False) -> IPAddress:
    """Return the address to connect to, or raise FetchError if it is not allowed."""
    try:
        ip = _parse_address(address)
    except ValueError:
        raise FetchError(f"the URL resolves to an invalid address ({address})") from None
    reason = blocked_reason(ip, allow_private=allow_private)
    if reason is not None:
        raise FetchError(f"the URL resolves to {reason} ({address}), which is not allowed")
    return _connect_form(ip)


# --- resolution and URL rules ------------------------------------------------


def resolve_host(host: str, port: int) -> list[str]:
    """Blocking DNS lookup returning unique addresses in resolver order.

    Module-level on purpose: the fetcher looks it up at call time, so tests can
    replace it and map made-up names to chosen addresses without any network.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = str(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
    return addresses


def _parse_url(raw: str, what: str) -> httpx.URL:
    if len(raw) > _MAX_URL_LENGTH:
        raise FetchError(f"{what} is too long")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchError(f"{what} is not a valid URL") from None
    if url.scheme not in _DEFAULT_PORTS:
        raise FetchError(f"{what} must use http or https")
    if url.userinfo:
        raise FetchError(f"{what} must not contain a user name or password")
    if not url.raw_host:
        raise FetchError(f"{what} must include a host name")
    if not _valid_host(url.raw_host.decode("ascii")):
        raise FetchError(f"{what} is not a valid URL")
    return url


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _valid_host(host: str) -> bool:
    """An IP literal or a plain DNS name: no percent-escapes or other oddities for DNS."""
    if _is_ip_literal(host):
        return True
    return len(host) <= 253 and _HOST_NAME.fullmatch(host) is not None


async def _resolve_checked(url: httpx.URL, policy: FetchPolicy) -> list[IPAddress]:
    host = url.raw_host.decode("ascii")
    port = url.port or _DEFAULT_PORTS[url.scheme]
    if _is_ip_literal(host):
        return [check_address(host, allow_private=policy.allow_private)]
    try:
        raw = await anyio.to_thread.run_sync(resolve_host, host, port, abandon_on_cancel=True)
    except (OSError, UnicodeError):
        raise FetchError(f"could not resolve the host name {host}") from None
    if not raw:
        raise FetchError(f"could not resolve the host name {host}")
    # Every answer must pass: an attacker controls the order and which one we'd pick.
    return [check_address(address, allow_private=policy.allow_private) for address in raw]


# --- HTTP ----------------------------------------------------------------------


@cache
def make_ssl_context() -> ssl.SSLContext:
    """Certificate-verifying TLS context, built once (loading the CA bundle is slow).

    Module-level so tests can substitute a context that trusts a local test CA.
    """
    return httpx.create_ssl_context()


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@asynccontextmanager
async def _open(
    url: httpx.URL, addresses: list[IPAddress], policy: FetchPolicy
) -> AsyncIterator[httpx.Response]:
    """Send GET to the checked addresses in turn, never resolving the name again.

    A fresh client per hop and no keep-alive: no cookies carry across redirects,
    and a pooled TLS connection for one name is never reused for another name
    that happens to share its IP.
    """
    host = url.raw_host.decode("ascii")
    headers = {**_REQUEST_HEADERS, "Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    ssl_context = await anyio.to_thread.run_sync(make_ssl_context)
    last_error: httpx.ConnectError | None = None
    async with httpx.AsyncClient(
        verify=ssl_context,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout_s),
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        for ip in addresses:
            request = client.build_request(
                "GET", url.copy_with(host=str(ip)), headers=headers, extensions=extensions
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.ConnectError as exc:
                last_error = exc
                continue
            try:
                yield response
            finally:
                await response.aclose()
            return
    if last_error is not None and _is_tls_failure(last_error):
        raise FetchError(f"could not make a secure connection to {host}: {last_error}")
    raise FetchError(f"could not connect to {host}")


def _check_headers(response: httpx.Response, policy: FetchPolicy) -> None:
    """Reject on headers alone, before writing a byte."""
    declared = _content_length(response)
    if declared is not None and declared > policy.max_bytes:
        raise FetchError(f"the content is larger than {format_size(policy.max_bytes)}")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchError(f"the URL sent compressed content ({encoding}), which is not supported")
    allowed = policy.allowed_content_types
    content_type = response.headers.get("content-type")
    # A missing header passes: media is sniffed from its bytes later anyway, and
    # this filter only exists to turn away obvious mistakes like HTML pages early.
    if allowed is None or content_type is None:
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not any(_type_matches(media_type, pattern.lower()) for pattern in allowed):
        accepted = ", ".join(p + "*" if p.endswith("/") else p for p in allowed)
        raise FetchError(
            f"the URL returned {media_type or 'untyped'} content; accepted: {accepted}"
        )


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers.get("content-length", ""))
    except ValueError:
        return None


def _type_matches(media_type: str, pattern: str) -> bool:
    return media_type.startswith(pattern) if pattern.endswith("/") else media_type == pattern


# --- writing -------------------------------------------------------------------


class _FileSink:
    """Buffers chunks and writes/hashes them in ~1 MiB batches off the event loop."""

    def __init__(self, path: Path, handle: BinaryIO) -> None:
        self._path = path
        self._handle = handle
        self._hash = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    @classmethod
    async def open(cls, path: Path) -> _FileSink:
        handle = await anyio.to_thread.run_sync(path.open, "wb")
        return cls(path, handle)

    async def write(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        if self._pending_bytes >= _WRITE_BATCH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        data = b"".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        if data:
            await anyio.to_thread.run_sync(self._write_sync, data)

    def _write_sync(self, data: bytes) -> None:
        self._handle.write(data)
        self._hash.update(data)

    async def finish(self) -> str:
        await self._flush()
        await anyio.to_thread.run_sync(self._handle.close)
        return self._hash.hexdigest()

    async def discard(self) -> None:
        """Remove the partial file; shielded so it also runs when we timed out."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._discard_sync)

    def _discard_sync(self) -> None:
        self._handle.close()
        self._path.unlink(missing_ok=True)


async def _save(
    response: httpx.Response, url: httpx.URL, dest: Path, policy: FetchPolicy
) -> FetchedFile:
    _check_headers(response, policy)
    sink = await _FileSink.open(dest)
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > policy.max_bytes:
                raise FetchError(f"the content is larger than {format_size(policy.max_bytes)}")
            await sink.write(chunk)
        digest = await sink.finish()
    except BaseException:
        await sink.discard()
        raise
    return FetchedFile(
        path=dest,
        size=size,
        content_type=response.headers.get("content-type"),
        sha256=digest,
        final_url=str(url),
    )


# --- entry point -----------------------------------------------------------------


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    """Resolve a (possibly relative) Location and hold it to the same URL rules."""
    try:
        joined = str(current.join(location))
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchError("the URL redirected to an invalid URL") from None
    return _parse_url(joined, "the redirect target")


async def _fetch(url: str, dest: Path, policy: FetchPolicy) -> FetchedFile:
    current = _parse_url(url, "uri")
    for _hop in range(policy.max_redirects + 1):
        addresses = await _resolve_checked(current, policy)
        async with _open(current, addresses, policy) as response:
            status = response.status_code
            location = response.headers.get("location")
            if status in _REDIRECT_STATUSES and location:
                current = _redirect_target(current, location)
                continue
            if not 200 <= status < 300:
                raise FetchError(f"the URL returned HTTP {status}")
            return await _save(response, current, dest, policy)
    raise FetchError(f"the URL redirected more than {policy.max_redirects} times")


async def fetch_to_file(url: str, dest: Path, policy: FetchPolicy) -> FetchedFile:
    """Download ``url`` into ``dest`` under ``policy``; raises FetchError on any refusal.

    ``dest`` is created or truncated, and removed again if the fetch fails.
    ``timeout_s`` bounds the whole fetch, redirects and DNS included.
    """
    try:
        with anyio.fail_after(policy.timeout_s):
            return await _fetch(url, dest, policy)
    except (TimeoutError, httpx.TimeoutException):
        raise FetchError(f"the URL took longer than {policy.timeout_s:g} s to download") from None
    except httpx.HTTPError as exc:
        detail = str(exc) or type(exc).__name__
        raise FetchError(f"the download failed: {detail}") from None
