"""URL fetching: address rules, and end-to-end behaviour against a local server.

Nothing here touches the internet: the server listens on 127.0.0.1 and made-up
host names are mapped to addresses by replacing ``fetch.resolve_host``.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

from worldsmith.core import fetch
from worldsmith.core.fetch import FetchError, FetchPolicy, check_address, fetch_to_file

LOCAL = FetchPolicy(max_bytes=1 << 20, timeout_s=5.0, allow_private=True)


# --- a tiny HTTP/1.1 server ---------------------------------------------------


@dataclass
class _Seen:
    path: str
    headers: dict[str, str]


Handler = Callable[[_Seen, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class _LocalServer:
    """Routes map a path to a coroutine that writes the raw response."""

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[_Seen] = field(default_factory=list)
    sni_names: list[str | None] = field(default_factory=list)
    port: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in header_lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            seen = _Seen(path=request_line.split(" ")[1], headers=headers)
            self.requests.append(seen)
            await self.routes.get(seen.path, _not_found)(seen, writer)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} Status"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join([*lines, "Connection: close", "", ""])).encode()


def _body(data: bytes, content_type: str = "image/png", status: int = 200) -> Handler:
    async def handler(_: _Seen, writer: asyncio.StreamWriter) -> None:
        headers = {"Content-Type": content_type, "Content-Length": str(len(data))}
        writer.write(_head(status, headers) + data)

    return handler


def _redirect(location: str, status: int = 302, extra: dict[str, str] | None = None) -> Handler:
    async def handler(_: _Seen, writer: asyncio.StreamWriter) -> None:
        headers = {"Location": location, "Content-Length": "0", **(extra or {})}
        writer.write(_head(status, headers))

    return handler


def _chunked(chunks: list[bytes]) -> Handler:
    async def handler(_: _Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, {"Transfer-Encoding": "chunked"}))
        for chunk in chunks:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    return handler


def _stall(headers_first: bool, delay: float = 30.0) -> Handler:
    async def handler(_: _Seen, writer: asyncio.StreamWriter) -> None:
        if headers_first:
            writer.write(_head(200, {"Content-Length": "1000"}) + b"x" * 10)
            await writer.drain()
        await asyncio.sleep(delay)

    return handler


def _slow_redirect(location: str, delay: float) -> Handler:
    async def handler(seen: _Seen, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(delay)
        await _redirect(location)(seen, writer)

    return handler


_not_found = _body(b"nope", content_type="text/plain", status=404)


@pytest.fixture
async def fetch_server() -> AsyncIterator[_LocalServer]:
    server = _LocalServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Map made-up host names to addresses; anything unmapped fails to resolve."""
    table: dict[str, list[str]] = {}
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    monkeypatch.setattr(fetch, "resolve_host", resolve)
    table["__calls__"] = calls  # the test can read how often each name was resolved
    return table


async def _fetch_error(url: str, dest: Path, policy: FetchPolicy) -> str:
    with pytest.raises(FetchError) as caught:
        await fetch_to_file(url, dest, policy)
    assert not await anyio.Path(dest).exists(), "a failed fetch must not leave a file behind"
    return caught.value.message


# --- address rules --------------------------------------------------------------

BLOCKED = [
    ("127.0.0.1", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("100.64.0.1", "a carrier-grade NAT address"),
    ("0.0.0.0", "an unspecified address"),
    ("255.255.255.255", "a broadcast address"),
    ("224.0.0.1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("192.0.0.8", "a reserved address"),
    ("192.0.2.1", "a documentation address"),
    ("198.18.0.1", "a benchmarking address"),
    ("::", "an unspecified address"),
    ("::1", "a loopback address"),
    ("fe80::1", "a link-local address"),
    ("fe80::1%eth0", "a link-local address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("ff02::1", "a multicast address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("::ffff:10.0.0.1", "a private address"),
    ("::ffff:169.254.169.254", "a link-local address"),
    ("64:ff9b::7f00:1", "a NAT64 address"),
    ("64:ff9b::808:808", "a NAT64 address"),
    ("::127.0.0.1", "an IPv4-compatible address"),
    ("2001:db8::1", "a documentation address"),
    ("2002:7f00:1::1", "a 6to4 address"),
    ("2001::1", "a reserved address"),
    ("fec0::1", "a site-local address"),
    ("5f00::1", "a reserved address"),
]


@pytest.mark.parametrize(("address", "label"), BLOCKED)
def test_blocked_addresses(address: str, label: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_address(address)
    assert caught.value.message == f"the URL resolves to {label} ({address}), which is not allowed"


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8"]
)
def test_public_addresses_allowed(address: str) -> None:
    assert fetch.blocked_reason(address) is None
    check_address(address)


def test_mapped_address_is_unwrapped_for_connecting() -> None:
    assert check_address("::ffff:8.8.8.8") == ipaddress.IPv4Address("8.8.8.8")


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fc00::1"])
def test_allow_private_admits_local_ranges(address: str) -> None:
    check_address(address, allow_private=True)


@pytest.mark.parametrize(
    "address",
    ["0.0.0.0", "::", "224.0.0.1", "ff02::1", "169.254.169.254", "fe80::1", "64:ff9b::7f00:1"],
)
def test_allow_private_still_blocks_the_rest(address: str) -> None:
    with pytest.raises(FetchError):
        check_address(address, allow_private=True)


# --- URL rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/a.png", "uri must use http or https"),
        ("file:///etc/passwd", "uri must use http or https"),
        ("javascript:alert(1)", "uri must use http or https"),
        ("gopher://example.com/", "uri must use http or https"),
        ("example.com/a.png", "uri must use http or https"),
        ("http://", "uri must include a host name"),
        ("http:///path", "uri must include a host name"),
        ("http://user:pw@example.com/a.png", "uri must not contain a user name or password"),
        ("http://user@example.com/a.png", "uri must not contain a user name or password"),
        ("http://exa mple.com/", "uri is not a valid URL"),
        ("http://example.com/" + "a" * 9000, "uri is too long"),
    ],
)
async def test_bad_urls_rejected_before_resolving(
    url: str, message: str, tmp_path: Path, fake_dns: dict[str, list[str]]
) -> None:
    assert await _fetch_error(url, tmp_path / "out", LOCAL) == message
    assert fake_dns["__calls__"] == []


async def test_unresolvable_host(tmp_path: Path, fake_dns: dict[str, list[str]]) -> None:
    message = await _fetch_error("http://nowhere.test/a.png", tmp_path / "out", LOCAL)
    assert message == "could not resolve the host name nowhere.test"


async def test_every_resolved_address_must_pass(
    tmp_path: Path, fake_dns: dict[str, list[str]]
) -> None:
    # The public answer comes first; the private one must still sink the fetch,
    # and it does so before any connection is attempted.
    fake_dns["mixed.test"] = ["93.184.216.34", "10.0.0.7"]
    policy = FetchPolicy(max_bytes=1000)
    message = await _fetch_error("http://mixed.test/a.png", tmp_path / "out", policy)
    assert message == "the URL resolves to a private address (10.0.0.7), which is not allowed"


# --- end to end -----------------------------------------------------------------


async def test_successful_fetch(fetch_server: _LocalServer, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    fetch_server.routes["/a.png"] = _body(data, content_type="image/png")
    dest = tmp_path / "out.png"
    result = await fetch_to_file(fetch_server.url("/a.png"), dest, LOCAL)
    assert result.path == dest
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.content_type == "image/png"
    assert result.final_url == fetch_server.url("/a.png")
    assert dest.read_bytes() == data
    seen = fetch_server.requests[0].headers
    assert seen["host"] == f"127.0.0.1:{fetch_server.port}"
    assert seen["accept-encoding"] == "identity"


async def test_large_streamed_fetch_in_batches(fetch_server: _LocalServer, tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 123)
    fetch_server.routes["/big"] = _chunked(
        [data[i : i + 65536] for i in range(0, len(data), 65536)]
    )
    policy = FetchPolicy(max_bytes=4 << 20, timeout_s=10.0, allow_private=True)
    result = await fetch_to_file(fetch_server.url("/big"), tmp_path / "big", policy)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.content_type is None


async def test_connects_to_checked_ip_with_original_host(
    fetch_server: _LocalServer, tmp_path: Path, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["media.test"] = ["127.0.0.1"]
    fetch_server.routes["/a.png"] = _body(b"png bytes")
    url = fetch_server.url("/a.png", host="media.test")
    result = await fetch_to_file(url, tmp_path / "out", LOCAL)
    assert result.final_url == url
    assert fetch_server.requests[0].headers["host"] == f"media.test:{fetch_server.port}"
    assert fake_dns["__calls__"] == ["media.test"]  # resolved exactly once


async def test_loopback_blocked_by_default(fetch_server: _LocalServer, tmp_path: Path) -> None:
    fetch_server.routes["/a.png"] = _body(b"secret")
    policy = FetchPolicy(max_bytes=1000)
    message = await _fetch_error(fetch_server.url("/a.png"), tmp_path / "out", policy)
    assert message == "the URL resolves to a loopback address (127.0.0.1), which is not allowed"
    assert fetch_server.requests == []


async def test_localhost_name_blocked_by_default(
    fetch_server: _LocalServer, tmp_path: Path
) -> None:
    policy = FetchPolicy(max_bytes=1000)
    message = await _fetch_error(fetch_server.url("/", host="localhost"), tmp_path / "o", policy)
    assert "a loopback address" in message
    assert fetch_server.requests == []


async def test_http_error_status(fetch_server: _LocalServer, tmp_path: Path) -> None:
    message = await _fetch_error(fetch_server.url("/missing"), tmp_path / "out", LOCAL)
    assert message == "the URL returned HTTP 404"


async def test_size_cap_from_content_length(fetch_server: _LocalServer, tmp_path: Path) -> None:
    async def huge(_: _Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, {"Content-Length": str(50 << 20)}))
        await writer.drain()
        await asyncio.sleep(30)  # never sends the body: we must not wait for it

    fetch_server.routes["/huge"] = huge
    policy = FetchPolicy(max_bytes=20_000_000, timeout_s=5.0, allow_private=True)
    started = time.monotonic()
    message = await _fetch_error(fetch_server.url("/huge"), tmp_path / "out", policy)
    assert message == "the content is larger than 20 MB"
    assert time.monotonic() - started < 2


async def test_size_cap_while_streaming(fetch_server: _LocalServer, tmp_path: Path) -> None:
    fetch_server.routes["/stream"] = _chunked([b"x" * 1000] * 5)
    policy = FetchPolicy(max_bytes=2500, allow_private=True)
    message = await _fetch_error(fetch_server.url("/stream"), tmp_path / "out", policy)
    assert message == "the content is larger than 2.5 KB"


async def test_exact_size_limit_is_allowed(fetch_server: _LocalServer, tmp_path: Path) -> None:
    fetch_server.routes["/stream"] = _chunked([b"x" * 1000] * 5)
    policy = FetchPolicy(max_bytes=5000, allow_private=True)
    assert (await fetch_to_file(fetch_server.url("/stream"), tmp_path / "o", policy)).size == 5000


@pytest.mark.parametrize("headers_first", [True, False], ids=["slow-body", "no-response"])
async def test_timeout(fetch_server: _LocalServer, tmp_path: Path, headers_first: bool) -> None:
    fetch_server.routes["/slow"] = _stall(headers_first)
    policy = FetchPolicy(max_bytes=1 << 20, timeout_s=0.5, allow_private=True)
    started = time.monotonic()
    message = await _fetch_error(fetch_server.url("/slow"), tmp_path / "out", policy)
    assert message == "the URL took longer than 0.5 s to download"
    assert time.monotonic() - started < 3


async def test_timeout_spans_redirects(fetch_server: _LocalServer, tmp_path: Path) -> None:
    # Each hop is quick on its own; together they exceed the total budget.
    for i in range(5):
        fetch_server.routes[f"/hop{i}"] = _slow_redirect(f"/hop{i + 1}", delay=0.3)
    policy = FetchPolicy(max_bytes=1000, timeout_s=1.0, allow_private=True)
    message = await _fetch_error(fetch_server.url("/hop0"), tmp_path / "out", policy)
    assert message == "the URL took longer than 1 s to download"


async def test_redirect_chain_followed(fetch_server: _LocalServer, tmp_path: Path) -> None:
    fetch_server.routes["/r1"] = _redirect("/r2", status=301)
    fetch_server.routes["/r2"] = _redirect("r3", status=307)
    fetch_server.routes["/r3"] = _redirect(fetch_server.url("/final.png"), status=308)
    fetch_server.routes["/final.png"] = _body(b"final")
    result = await fetch_to_file(fetch_server.url("/r1"), tmp_path / "out", LOCAL)
    assert result.final_url == fetch_server.url("/final.png")
    assert (tmp_path / "out").read_bytes() == b"final"
    assert [r.path for r in fetch_server.requests] == ["/r1", "/r2", "/r3", "/final.png"]


async def test_redirect_limit(fetch_server: _LocalServer, tmp_path: Path) -> None:
    for i in range(10):
        fetch_server.routes[f"/loop{i}"] = _redirect(f"/loop{i + 1}")
    policy = FetchPolicy(max_bytes=1000, max_redirects=3, allow_private=True)
    message = await _fetch_error(fetch_server.url("/loop0"), tmp_path / "out", policy)
    assert message == "the URL redirected more than 3 times"
    assert len(fetch_server.requests) == 4


async def test_redirect_without_location_is_an_error(
    fetch_server: _LocalServer, tmp_path: Path
) -> None:
    fetch_server.routes["/odd"] = _body(b"", status=302)
    assert await _fetch_error(fetch_server.url("/odd"), tmp_path / "o", LOCAL) == (
        "the URL returned HTTP 302"
    )


async def test_redirect_to_other_scheme_rejected(
    fetch_server: _LocalServer, tmp_path: Path
) -> None:
    fetch_server.routes["/r"] = _redirect("file:///etc/passwd")
    message = await _fetch_error(fetch_server.url("/r"), tmp_path / "out", LOCAL)
    assert message == "the redirect target must use http or https"


async def test_redirect_to_metadata_rejected_even_when_private_allowed(
    fetch_server: _LocalServer, tmp_path: Path, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["metadata.test"] = ["169.254.169.254"]
    fetch_server.routes["/r"] = _redirect("http://metadata.test/latest/meta-data/")
    message = await _fetch_error(fetch_server.url("/r"), tmp_path / "out", LOCAL)
    assert message == (
        "the URL resolves to a link-local address (169.254.169.254), which is not allowed"
    )
    assert fake_dns["__calls__"] == ["metadata.test"]


async def test_redirect_to_private_rejected_by_default(
    fetch_server: _LocalServer,
    tmp_path: Path,
    fake_dns: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Stand in for a public server: let exactly our test server's address pass
    # the check, so the redirect hop is judged by the real default rules.
    real_check = fetch.check_address

    def check(address: str, *, allow_private: bool = False) -> fetch.IPAddress:
        return real_check(address, allow_private=allow_private or address == "127.0.0.1")

    monkeypatch.setattr(fetch, "check_address", check)
    fake_dns["public.test"] = ["127.0.0.1"]
    fake_dns["internal.test"] = ["10.0.0.5"]
    fetch_server.routes["/r"] = _redirect("http://internal.test/admin")
    policy = FetchPolicy(max_bytes=1000)
    url = fetch_server.url("/r", host="public.test")
    message = await _fetch_error(url, tmp_path / "out", policy)
    assert message == "the URL resolves to a private address (10.0.0.5), which is not allowed"
    assert [r.path for r in fetch_server.requests] == ["/r"]


async def test_cookies_not_carried_across_redirects(
    fetch_server: _LocalServer, tmp_path: Path
) -> None:
    fetch_server.routes["/login"] = _redirect("/file", extra={"Set-Cookie": "session=abc; Path=/"})
    fetch_server.routes["/file"] = _body(b"ok")
    await fetch_to_file(fetch_server.url("/login"), tmp_path / "out", LOCAL)
    assert "cookie" not in fetch_server.requests[1].headers


async def test_content_type_filter(fetch_server: _LocalServer, tmp_path: Path) -> None:
    fetch_server.routes["/page"] = _body(b"<html></html>", content_type="text/html; charset=utf-8")
    fetch_server.routes["/img"] = _body(b"img", content_type="image/webp")
    policy = FetchPolicy(
        max_bytes=1000, allow_private=True, allowed_content_types=("image/", "video/mp4")
    )
    message = await _fetch_error(fetch_server.url("/page"), tmp_path / "out", policy)
    assert message == "the URL returned text/html content; accepted: image/*, video/mp4"
    result = await fetch_to_file(fetch_server.url("/img"), tmp_path / "img", policy)
    assert result.content_type == "image/webp"


async def test_compressed_response_rejected(fetch_server: _LocalServer, tmp_path: Path) -> None:
    async def gzipped(_: _Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, {"Content-Encoding": "gzip", "Content-Length": "3"}) + b"abc")

    fetch_server.routes["/gz"] = gzipped
    message = await _fetch_error(fetch_server.url("/gz"), tmp_path / "out", LOCAL)
    assert message == "the URL sent compressed content (gzip), which is not supported"


async def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    message = await _fetch_error(f"http://127.0.0.1:{port}/", tmp_path / "out", LOCAL)
    assert message == "could not connect to 127.0.0.1"


# --- HTTPS: SNI and certificate checks use the original name ---------------------


def _self_signed(host: str) -> tuple[bytes, bytes]:
    """A throwaway certificate for ``host`` (PEM cert, PEM key)."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture
async def fetch_tls_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[_LocalServer]:
    cert_pem, key_pem = _self_signed("media.test")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server = _LocalServer()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    def record_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        server.sni_names.append(name)

    tls.sni_callback = record_sni
    client = ssl.create_default_context(cadata=cert_pem.decode())
    monkeypatch.setattr(fetch, "make_ssl_context", lambda: client)
    await server.start(tls)
    yield server
    await server.stop()


async def test_https_uses_original_name_for_sni_and_cert(
    fetch_tls_server: _LocalServer, tmp_path: Path, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["media.test"] = ["127.0.0.1"]
    fetch_tls_server.routes["/a.png"] = _body(b"secure bytes")
    url = fetch_tls_server.url("/a.png", host="media.test", scheme="https")
    result = await fetch_to_file(url, tmp_path / "out", LOCAL)
    assert (tmp_path / "out").read_bytes() == b"secure bytes"
    assert result.final_url == url
    assert fetch_tls_server.sni_names == ["media.test"]
    assert fetch_tls_server.requests[0].headers["host"] == f"media.test:{fetch_tls_server.port}"


async def test_https_certificate_must_match_the_name(
    fetch_tls_server: _LocalServer, tmp_path: Path, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["other.test"] = ["127.0.0.1"]
    fetch_tls_server.routes["/a.png"] = _body(b"secure bytes")
    url = fetch_tls_server.url("/a.png", host="other.test", scheme="https")
    message = await _fetch_error(url, tmp_path / "out", LOCAL)
    assert message.startswith("could not make a secure connection to other.test")
    assert fetch_tls_server.sni_names == ["other.test"]
