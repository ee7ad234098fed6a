"""`python -m lab.aptcache --bind ADDR --port PORT --cache DIR`: the lab nodes' apt proxy.

A caching HTTP proxy for Debian's archive only, as a private subnet's package mirror: apt on a
node sends `GET http://deb.debian.org/debian/...` to it (cloud-init's `apt: proxy:`), and it
answers from its cache or fetches from the archive through the host's own resolver (which
apt-cacher-ng's built-in resolver does not use). Package files (`pool/`, `by-hash/`) never
change and are kept; index files are kept for INDEX_MAX_AGE_SECONDS, so `package_update`
really runs against the archive's current state. Any other host is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3

ARCHIVE_HOSTS = frozenset({"deb.debian.org", "security.debian.org"})
INDEX_MAX_AGE_SECONDS = 3600
MAX_BODY_BYTES = 512 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 60
FETCH_DEADLINE_SECONDS = 600  # a whole download, so a trickling archive cannot hold a node's apt forever
CHUNK = 1 << 16


def cache_path(cache: Path, url: str) -> Path:
    parts = urlsplit(url)
    return cache / parts.hostname / hashlib.sha256(parts.path.encode()).hexdigest()  # type: ignore[operator]


def fresh(path: Path, url: str, now: float) -> bool:
    """Whether a cached copy may be served: package files always, indexes while young."""
    if not path.is_file():
        return False
    immutable = "/pool/" in url or "/by-hash/" in url
    return immutable or now - path.stat().st_mtime < INDEX_MAX_AGE_SECONDS


class Handler(BaseHTTPRequestHandler):
    cache: Path
    archive_hosts: frozenset[str] = ARCHIVE_HOSTS
    max_body_bytes = MAX_BODY_BYTES
    read_timeout = READ_TIMEOUT_SECONDS
    fetch_deadline = FETCH_DEADLINE_SECONDS
    timeout = READ_TIMEOUT_SECONDS  # a silent client cannot hold a thread forever

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = self.path
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in self.archive_hosts:
            self.send_error(403, "only Debian's archive is proxied")
            return
        path = cache_path(self.cache, url)
        if not fresh(path, url, time.time()) and not self._fetch(url, path):
            return
        size = path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        with open(path, "rb") as body:
            while chunk := body.read(CHUNK):
                self.wfile.write(chunk)

    def _fetch(self, url: str, path: Path) -> bool:
        """Download `url` into the cache (bounded in time and size); answer errors directly."""
        deadline = time.monotonic() + self.fetch_deadline
        timeout = (CONNECT_TIMEOUT_SECONDS, self.read_timeout)
        try:
            with requests.get(url, stream=True, timeout=timeout) as reply:
                if reply.status_code != 200:
                    self.send_error(reply.status_code, "from the archive")
                    return False
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(f"{path.name}.{time.monotonic_ns()}.partial")
                written = 0
                try:
                    with open(partial, "wb") as out:
                        # read1: what has arrived, so the deadline is checked while an archive trickles
                        while chunk := reply.raw.read1(CHUNK):
                            written += len(chunk)
                            if written > self.max_body_bytes:
                                raise ValueError(f"larger than {self.max_body_bytes} bytes")
                            if time.monotonic() > deadline:
                                raise ValueError(f"not downloaded within {self.fetch_deadline} s")
                            out.write(chunk)
                    partial.rename(path)
                finally:
                    partial.unlink(missing_ok=True)
                return True
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            self.send_error(502, f"archive unreachable: {exc}")
            return False

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        sys.stderr.write(f"{time.time():.3f} {self.address_string()} {format % args}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.aptcache", description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    args = parser.parse_args(argv)
    server(args.bind, args.port, args.cache).serve_forever()
    return 0


def server(bind: str, port: int, cache: Path, **limits: object) -> ThreadingHTTPServer:
    """The proxy, not yet serving; `limits` override Handler's (archive_hosts, max_body_bytes,
    read_timeout, fetch_deadline), for tests with hostile archives."""
    handler = type("BoundHandler", (Handler,), {"cache": cache, **limits})
    proxy = ThreadingHTTPServer((bind, port), handler)
    proxy.daemon_threads = True
    return proxy


if __name__ == "__main__":
    sys.exit(main())
