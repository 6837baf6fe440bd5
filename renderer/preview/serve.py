"""Serve the studio: bind a socket (loopback only unless told otherwise), print the address,
run uvicorn on it until interrupted."""

from __future__ import annotations

import ipaddress
import socket

from renderer.errors import TailorError


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or address) is this machine only: ``localhost`` or a loopback IP."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def served_hosts(host: str) -> list[str]:
    """The Host names a studio on `host` answers: the loopback names and `host` itself; any name
    (``*``) for a wildcard address (``0.0.0.0``, ``::``), whose names the studio cannot know."""
    if host.strip("[]") in ("0.0.0.0", "::", ""):
        return ["*"]
    return list(dict.fromkeys(["127.0.0.1", "localhost", "::1", "[::1]", host]))


def bind_socket(host: str, port: int, *, allow_remote: bool) -> socket.socket:
    """A listening socket on (host, port) — port 0 picks a free one; TailorError for a
    non-loopback host without `allow_remote` (sample data is personal data) or a port in use."""
    if not is_loopback(host) and not allow_remote:
        raise TailorError(
            f"refusing to serve the preview on {host!r}, which other machines can reach: sample "
            "data and edits are personal; pass --allow-remote to do so anyway"
        )
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise TailorError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def studio_url(sock: socket.socket) -> str:
    """The address the studio answers at, as the user types it."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"
