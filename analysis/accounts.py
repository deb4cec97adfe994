"""Accounts in .streamlit/secrets.toml: PBKDF2-SHA256 hashes, sign-in throttling, and who may write without accounts."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections.abc import Mapping

ITERATIONS = 600_000  # OWASP's 2023 guidance for PBKDF2-HMAC-SHA256; hashes made with 200,000 still verify
MIN_PASSWORD_LENGTH = 8
LOOPBACK_ADDRESSES = {"127.0.0.1", "localhost", "::1"}
ROLES = ("analyst", "leader")
# A request carrying any of these came through a proxy: its TCP peer being this machine says nothing about the user.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """'pbkdf2_sha256$iterations$salt$hash' for a password."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when the password matches the stored hash (constant-time compare); False for any malformed hash."""
    try:
        scheme, iterations, salt, digest = str(stored).split("$")
        rounds = int(iterations)
        salt_bytes, digest_bytes = base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except (ValueError, binascii.Error):
        return False
    if scheme != "pbkdf2_sha256" or rounds < 1 or not digest_bytes:
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt_bytes, rounds)
    return hmac.compare_digest(candidate, digest_bytes)


def hash_iterations(stored: str) -> int | None:
    """The PBKDF2 iteration count of a stored hash, None when malformed (an old 200,000 hash may be renewed)."""
    try:
        return int(str(stored).split("$")[1])
    except (IndexError, ValueError):
        return None


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_sign_in(accounts: Mapping[str, Mapping], name: str, password: str) -> bool:
    """True when name is an account and the password matches; an unknown name costs the same PBKDF2 work as a known
    one, so the answer's timing does not tell which names exist."""
    entry = accounts.get(name)
    stored = str(entry.get("password_hash", "")) if entry else _dummy_hash()
    ok = verify_password(password, stored)
    return ok and entry is not None


def account_fingerprint(entry: Mapping) -> str:
    """A digest of an account's hash and role: a session whose fingerprint no longer matches is signed out."""
    text = f"{entry.get('password_hash', '')}\x00{entry.get('role', '')}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LoginThrottle:
    """Wrong passwords per user name within a window; a name with too many is locked until the window has passed.

    Kept in the server process (shared by every browser session), keyed by the name typed, not the client address:
    an attacker cannot get round it by reconnecting. Unknown names are counted too, so locking says nothing."""

    def __init__(self, max_failures: int = 5, window_s: float = 900.0):
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, name: str, now: float) -> list[float]:
        recent = [t for t in self._failures.get(name, []) if now - t < self.window_s]
        if recent:
            self._failures[name] = recent
        else:
            self._failures.pop(name, None)
        return recent

    def locked_for(self, name: str, now: float | None = None) -> float:
        """Seconds until name may try again (0 when it may try now)."""
        now = time.time() if now is None else now
        with self._lock:
            recent = self._recent(name, now)
            if len(recent) < self.max_failures:
                return 0.0
            return max(0.0, recent[-self.max_failures] + self.window_s - now)

    def failed(self, name: str, now: float | None = None) -> int:
        """Record a wrong password; returns the failures within the window."""
        now = time.time() if now is None else now
        with self._lock:
            recent = self._recent(name, now) + [now]
            self._failures[name] = recent[-self.max_failures:]
            return len(recent)

    def succeeded(self, name: str) -> None:
        """A right password clears the name's failures."""
        with self._lock:
            self._failures.pop(name, None)


def is_loopback_address(text: str | None) -> bool:
    """True for 'localhost', 127.0.0.0/8, ::1 (also in brackets or IPv4-mapped)."""
    host = str(text or "").strip().lower().strip("[]")
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def host_header_name(host: str) -> str:
    """The host name of a Host header ('localhost:8501' → 'localhost', '[::1]:8501' → '::1')."""
    host = host.strip()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def local_request(peer: str | None, headers: Mapping[str, str]) -> bool:
    """True when this request reached the app straight from this machine: a loopback TCP peer, a loopback Host header
    (not a DNS-rebound name) and no proxy's forwarding headers."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if not is_loopback_address(peer) or any(h in lowered for h in FORWARDING_HEADERS):
        return False
    return is_loopback_address(host_header_name(lowered.get("host", "")))


def may_change_without_accounts(configured_address: str | None, peer: str | None, headers: Mapping[str, str]) -> bool:
    """Without accounts, writes need both: the app configured to listen on loopback, and this request from loopback.

    The setting alone is not enough: `uvicorn serve:app --host 0.0.0.0` listens on the network whatever it says."""
    return is_loopback_address(configured_address) and local_request(peer, headers)
