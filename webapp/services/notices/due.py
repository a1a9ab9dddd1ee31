"""Which expiry notices are due, and the claims that let exactly one instance send each.

A key is in at most one window at a time and gets that window's notice: with days (14, 1), "before:14d" while
1 to 14 days are left, "before:1d" in its last day, "expired" within EXPIRED_WINDOW_MS after it expired. A
window that passed while no pass ran is not sent late. Keys that live a day or less get no notices, and a
"before:Nd" notice goes only to keys made more than N days before they expire (a key made 10 days before it
expires hears nothing at 14 days, but does in its last day). Invalidated keys and keys already replaced by a
rotation get none.

Claims are rows of notice_claim, unique per (key, expiration, notice, channel): the instance whose INSERT adds
the row sends the notice. A failed try is taken again by later passes, up to MAX_TRIES in all; a claim left
"sending" for STALE_CLAIM_MS (its instance stopped mid-way) is taken over.
"""

from dataclasses import dataclass

from peewee import JOIN, SQL, Tuple, fn

from webapp.clock import DAY_MS
from webapp.model import ApiKey, NoticeClaim, User
from webapp.services.notices.messages import DueNotice

EXPIRED_WINDOW_MS = 7 * DAY_MS  # keys that expired longer ago than this get no "expired" notice
SHORT_LIVED_MS = DAY_MS
STALE_CLAIM_MS = 15 * 60_000  # far beyond the longest try (attempts x timeout + back-off)
MAX_TRIES = 3
KEEP_CLAIMS_MS = 30 * DAY_MS  # claims are kept this long after their expiration (beyond every window)
BATCH = 200


@dataclass(frozen=True)
class Window:
    notice: str
    low: int  # expiration > low
    high: int  # expiration <= high
    min_lifetime: int  # expiration - creation > min_lifetime


def windows(days_before: tuple[int, ...], now: int) -> list[Window]:
    """The windows at `now`, widest first, then the expired one."""
    days = sorted(set(days_before), reverse=True)
    found = []
    for i, day in enumerate(days):
        narrower = days[i + 1] if i + 1 < len(days) else 0
        found.append(Window(f"before:{day}d", now + narrower * DAY_MS, now + day * DAY_MS,
                            max(day * DAY_MS, SHORT_LIVED_MS)))
    found.append(Window("expired", now - EXPIRED_WINDOW_MS, now, SHORT_LIVED_MS))
    return found


def _same_notice(key_id, expiration, notice, channel):
    return ((NoticeClaim.key_id == key_id) & (NoticeClaim.expiration == expiration)
            & (NoticeClaim.notice == notice) & (NoticeClaim.channel == channel))


def _open_for_another_try(now):
    return (((NoticeClaim.state == "failed") & (NoticeClaim.tries < MAX_TRIES))
            | ((NoticeClaim.state == "sending") & (NoticeClaim.claimed < now - STALE_CLAIM_MS)))


def due_notices(window: Window, channel: str, now: int, after: tuple[int, str] | None = None,
                limit: int = BATCH) -> list[DueNotice]:
    """Up to `limit` notices of `window` by `channel` that no claim settles, in (expiration, id) order after
    `after`. For email, the owner's address (None when the owner has none, is disabled or is gone)."""
    settled = NoticeClaim.select(SQL("1")).where(
        _same_notice(ApiKey.id, ApiKey.expiration, window.notice, channel), ~_open_for_another_try(now))
    columns = [ApiKey.id, ApiKey.name, ApiKey.owner_username, ApiKey.owner_realm, ApiKey.expiration]
    query = ApiKey.select(*columns, User.email if channel == "email" else SQL("NULL"))
    if channel == "email":
        query = query.join(User, JOIN.LEFT_OUTER, on=(User.username == ApiKey.owner_username)
                           & (User.realm == ApiKey.owner_realm) & (User.enabled == True))  # noqa: E712 (SQL)
    query = query.where(
        ApiKey.invalidated == False, ApiKey.replaced_by.is_null(),  # noqa: E712 (SQL)
        ApiKey.expiration > window.low, ApiKey.expiration <= window.high,
        (ApiKey.expiration - ApiKey.creation) > window.min_lifetime, ~fn.EXISTS(settled))
    if after is not None:
        query = query.where(Tuple(ApiKey.expiration, ApiKey.id) > Tuple(*after))
    rows = query.order_by(ApiKey.expiration, ApiKey.id).limit(limit).tuples()
    return [DueNotice(key_id, name, username, realm, expiration, window.notice, channel, email or None)
            for key_id, name, username, realm, expiration, email in rows]


def claim(due: DueNotice, now: int) -> int | None:
    """The claim's id when this instance is to send `due`; None when another instance has it (or sent it)."""
    inserted = list(NoticeClaim.insert(
        key_id=due.key_id, expiration=due.expiration, notice=due.notice, channel=due.channel, state="sending",
        tries=1, claimed=now).on_conflict_ignore().returning(NoticeClaim.id).execute())
    if inserted:
        return inserted[0].id
    same = _same_notice(due.key_id, due.expiration, due.notice, due.channel)
    # Conditional: of two instances taking the same failed or stale claim, the first UPDATE changes what the
    # second one's WHERE reads, so only one gets a row.
    taken = NoticeClaim.update(state="sending", tries=NoticeClaim.tries + 1, claimed=now).where(
        same, _open_for_another_try(now)).execute()
    return NoticeClaim.get(same).id if taken else None


def settle(claim_id: int, delivered: bool) -> None:
    NoticeClaim.update(state="sent" if delivered else "failed").where(NoticeClaim.id == claim_id).execute()


def tries_of(claim_id: int) -> int:
    return NoticeClaim.get_by_id(claim_id).tries


def prune_claims(now: int) -> int:
    """Forget claims whose expiration is past every window (an index range)."""
    return NoticeClaim.delete().where(NoticeClaim.expiration < now - KEEP_CLAIMS_MS).execute()
