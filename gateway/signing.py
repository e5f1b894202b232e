"""HMAC signatures of PRODUCT.md: `sha256=HMAC(secret, "<timestamp>.<raw body>")`.

Used for the webhooks we send and for the status callbacks and call records we
receive. A timestamp more than five minutes off is refused as a replay.
"""

from __future__ import annotations

import hashlib
import hmac

from gateway import clock

TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"
MAX_SKEW_SECONDS = 300


class SignatureError(Exception):
    pass


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = int(clock.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: f"sha256={mac}"}


def verify(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None
) -> None:
    if not secret:
        raise SignatureError("no secret configured for this endpoint")
    if not timestamp or not signature:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    # Unix seconds as ASCII digits only: int() would also take "١٢٣", "1_0" or 400 digits (too big to
    # compare with a float clock: OverflowError).
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise SignatureError(f"{TIMESTAMP_HEADER} is not unix seconds")
    ts = int(timestamp)
    if abs((clock.time() if now is None else now) - ts) > MAX_SKEW_SECONDS:
        raise SignatureError("timestamp more than 5 minutes off: refused as a replay")
    expected = sign(secret, body, ts)[SIGNATURE_HEADER]
    if not hmac.compare_digest(expected, signature.strip()):
        raise SignatureError("signature does not match")
