"""Browser sessions kept in the database: opened at sign-in, checked on every page request, ended at sign-out.

The session cookie (signed by Flask) carries the user's id, generation and creation time and a random token;
the `user_session` row is keyed by the token's SHA-256. A session is valid while its row exists, the user
is enabled at the same generation, it is younger than the absolute lifetime and it was used within the idle
timeout. Everything lives in the database, so a session ended on one instance is refused by every other one
at its next request. Activity is written to the row at most once a minute (ACTIVITY_GRANULARITY_MS), and the
idle timeout allows for that minute: a session ends between `idle` and `idle` + 1 minute after its last use,
never sooner.
"""

import hashlib
import secrets
from dataclasses import dataclass
from typing import NamedTuple

from webapp.clock import now_ms
from webapp.model import User, UserSession
from webapp.security.subject import Subject
from webapp.services.access import authentication
from webapp.services.audit import trail as audit

ACTIVITY_GRANULARITY_MS = 60_000

# Why a session was refused (None: it is valid).
ENDED = "ended"  # signed out, signed out everywhere, or never issued by this database
IDLE = "idle"
EXPIRED = "expired"
USER_CHANGED = "user_changed"  # disabled, deleted, or its password changed


class Lifetime(NamedTuple):
    """How long a session may live: since sign-in (absolute) and since its last use (idle), in milliseconds."""

    absolute_ms: int
    idle_ms: int


@dataclass(frozen=True)
class Resumed:
    """The answer for a session cookie: the user when it is valid, else why it is not."""

    user: User | None
    token: str = ""
    refused: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_id(user: User, token: str) -> str:
    """What the session cookie names: "user id:generation:created:token"."""
    return f"{user.id}:{user.generation}:{user.created}:{token}"


def open_session(user: User, lifetime: Lifetime, now: int | None = None) -> str:
    """A new session for `user`; returns the token for the cookie. Sessions past their lifetime are swept."""
    now = now_ms() if now is None else now
    UserSession.delete().where((UserSession.created < now - lifetime.absolute_ms) | (
        UserSession.last_used <= now - lifetime.idle_ms - ACTIVITY_GRANULARITY_MS)).execute()
    token = secrets.token_urlsafe(32)
    UserSession.create(id=_digest(token), user_id=user.id, created=now, last_used=now)
    return token


def sign_in(username: str, password: str, address: str | None, lifetime: Lifetime,
            replacing: str = "") -> tuple[User, str] | None:
    """(user, session token) for these credentials, or None when they are wrong; the attempt is audited.
    The browser's previous session (token `replacing`) ends."""
    user = authentication.sign_in(username, password, address)
    if user is None:
        return None
    end_session(replacing)
    return user, open_session(user, lifetime)


def resume_session(cookie_id: str, lifetime: Lifetime) -> Resumed:
    """The user of the session cookie's id (session_id), or why it is refused.

    A valid session's last use is moved forward when the stored one is a minute old or more."""
    user_id, generation, created, token = (str(cookie_id).split(":", 3) + ["", "", ""])[:4]
    if not token or not user_id.isdigit() or len(user_id) > 18:  # (a signed cookie, but no 500 from a big int)
        return Resumed(None, refused=ENDED)
    user = (User.select(User, UserSession)
            .join(UserSession, on=(UserSession.user_id == User.id), attr="session_row")
            .where((UserSession.id == _digest(token)) & (User.id == int(user_id)))
            .get_or_none())
    if user is None:
        return Resumed(None, refused=ENDED)
    if not user.enabled or str(user.generation) != generation or str(user.created) != created:
        return Resumed(None, refused=USER_CHANGED)
    row, now = user.session_row, now_ms()
    if now - row.created > lifetime.absolute_ms:
        return Resumed(None, refused=EXPIRED)
    if now - row.last_used >= lifetime.idle_ms + ACTIVITY_GRANULARITY_MS:
        return Resumed(None, refused=IDLE)
    if now - row.last_used >= ACTIVITY_GRANULARITY_MS:
        UserSession.update(last_used=now).where(UserSession.id == row.id).execute()
    return Resumed(user, token)


def end_session(token: str) -> None:
    """End one session (its row goes; a copy of its cookie opens nothing, on any instance)."""
    if token:
        UserSession.delete().where(UserSession.id == _digest(token)).execute()


def sign_out(subject: Subject | None, token: str) -> None:
    """End this session and audit it when someone was signed in."""
    end_session(token)
    if subject is not None:
        authentication.sign_out(subject)


def sign_out_everywhere(subject: Subject) -> int:
    """End every session of `subject`'s user, this one included; returns how many ended. API keys and
    Basic credentials are not sessions and keep working."""
    ended = UserSession.delete().where(UserSession.user_id == subject.user_id).execute()
    audit.record(subject, "logout_everywhere", target_type="user", target_id=subject.display,
                 detail=f"{ended} session{'s' if ended != 1 else ''} ended")
    return ended
