"""Password hashing for the accounts in .streamlit/secrets.toml (PBKDF2-SHA256, standard library only)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

ITERATIONS = 200_000
MIN_PASSWORD_LENGTH = 8
LOOPBACK_ADDRESSES = {"127.0.0.1", "localhost", "::1"}
ROLES = ("analyst", "leader")


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
