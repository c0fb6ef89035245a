"""Cookies, CSRF tokens and the headers every console response carries."""

from __future__ import annotations

import hashlib
import hmac

SESSION_COOKIE = "followup_session"
CSRF_FIELD = "csrf_token"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The Mini App's page alone runs a script, its own, to post Telegram's initData (never inline, never a third party's)
MINI_APP_SECURITY_POLICY = CONTENT_SECURITY_POLICY + "; script-src 'self'"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a sign-in link's token never leaves in a Referer
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _mac(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def signed_cookie(secret: str, session_token: str) -> str:
    return f"{session_token}.{_mac(secret, 'session', session_token)}"


def session_token_from(secret: str, cookie: str | None) -> str | None:
    """The session token of a cookie this console signed; None for a missing or tampered one."""
    if not cookie or len(cookie) > 200 or "." not in cookie:
        return None
    token, mac = cookie.rsplit(".", 1)
    return token if hmac.compare_digest(mac, _mac(secret, "session", token)) else None


def csrf_token(secret: str, session_token: str) -> str:
    """The token every form of this session carries (bound to the session, so another's is refused)."""
    return _mac(secret, "csrf", session_token)


def csrf_ok(secret: str, session_token: str, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(submitted, csrf_token(secret, session_token))
