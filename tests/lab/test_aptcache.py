"""The nodes' apt proxy against archives that misbehave, all on loopback: only the archive is
proxied, package files are kept, and a silent, trickling or oversized archive is cut off within
its bounds with a 502 instead of holding a node's apt."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from lab import aptcache

Behaviour = Callable[[BaseHTTPRequestHandler], None]


def serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{server.server_address[0]}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def archive() -> Iterator[tuple[str, dict[str, Behaviour], list[str]]]:
    """A fake archive on loopback: path -> what it does; every request it got."""
    behaviours: dict[str, Behaviour] = {}
    seen: list[str] = []

    class Archive(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            behaviours.get(self.path, lambda h: h.send_error(404))(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Archive)
    server.daemon_threads = True
    for address in serve(server):
        yield address, behaviours, seen


def proxy_for(tmp_path: Path, **limits: object) -> Iterator[str]:
    server = aptcache.server("127.0.0.1", 0, tmp_path / "cache", archive_hosts=frozenset({"127.0.0.1"}), **limits)
    yield from serve(server)


def body(content: bytes) -> Behaviour:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    return answer


def get(proxy: str, url: str, timeout: float = 10) -> requests.Response:
    return requests.get(url, proxies={"http": f"http://{proxy}"}, timeout=timeout)


def test_only_the_archive_is_proxied(tmp_path: Path) -> None:
    for proxy in proxy_for(tmp_path):
        assert get(proxy, "http://example.invalid/debian/dists/bookworm/InRelease").status_code == 403


def test_package_files_are_kept_and_served_without_the_archive(tmp_path: Path, archive) -> None:
    address, behaviours, seen = archive
    url = f"http://{address}/debian/pool/main/h/haproxy/haproxy.deb"
    behaviours["/debian/pool/main/h/haproxy/haproxy.deb"] = body(b"a package")
    for proxy in proxy_for(tmp_path):
        assert get(proxy, url).content == b"a package"
        behaviours.clear()  # the archive forgets it: the cache still has it
        assert get(proxy, url).content == b"a package"
        assert get(proxy, f"http://{address}/debian/pool/missing.deb").status_code == 404
    assert len(seen) == 2


def test_a_silent_archive_is_cut_off_at_the_read_timeout(tmp_path: Path, archive) -> None:
    address, behaviours, _ = archive
    release = threading.Event()
    behaviours["/debian/dists/bookworm/InRelease"] = lambda handler: release.wait(10)
    for proxy in proxy_for(tmp_path, read_timeout=0.5):
        started = time.monotonic()
        assert get(proxy, f"http://{address}/debian/dists/bookworm/InRelease").status_code == 502
        assert time.monotonic() - started < 5
    release.set()


def test_a_trickling_archive_is_cut_off_at_the_download_deadline(tmp_path: Path, archive) -> None:
    address, behaviours, _ = archive

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(40):  # one byte every 0.1 s: never a read timeout, 4 s in all
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.1)

    behaviours["/debian/pool/slow.deb"] = trickle
    for proxy in proxy_for(tmp_path, fetch_deadline=1.0):
        started = time.monotonic()
        assert get(proxy, f"http://{address}/debian/pool/slow.deb").status_code == 502
        assert time.monotonic() - started < 4
    assert not list((tmp_path / "cache").rglob("*")) or all(p.is_dir() for p in (tmp_path / "cache").rglob("*"))


def test_an_oversized_answer_is_refused_and_not_cached(tmp_path: Path, archive) -> None:
    address, behaviours, _ = archive
    behaviours["/debian/pool/big.deb"] = body(b"x" * 200_000)
    for proxy in proxy_for(tmp_path, max_body_bytes=100_000):
        assert get(proxy, f"http://{address}/debian/pool/big.deb").status_code == 502
    assert all(p.is_dir() for p in (tmp_path / "cache").rglob("*"))
