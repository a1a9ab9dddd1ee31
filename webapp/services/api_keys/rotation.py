"""Rotating API keys: a successor with a new secret, while the old key keeps working for a grace window.

Who may rotate a key is who may update it (Elasticsearch's update rule, `commands.check_updater` and
`commands.load_for_update`), and only once: the successor is inserted and the old key claimed by one
conditional UPDATE (`replaced_by IS NULL` and the version read) in the same transaction, so of two rotations
at once one wins and the other inserts nothing. The old key's expiration becomes the end of the window (or
stays, when it expires sooner); verification then refuses it as expired, on every instance at once.
"""

from dataclasses import dataclass, field

from webapp.clock import DAY_MS, now_ms
from webapp.errors import Conflict, DomainError, ValidationFailed
from webapp.model import ApiKey
from webapp.model.db import database
from webapp.security.subject import Subject
from webapp.services.admin import settings
from webapp.services.api_keys import checks, visibility
from webapp.services.api_keys.commands import (
    CreatedKey,
    audit_view,
    check_updater,
    load_for_update,
    store_new_key,
)
from webapp.services.audit import trail as audit

DEFAULT_GRACE_PERIOD = "24h"
MAX_GRACE_DAYS = 30
MAX_GRACE_MS = MAX_GRACE_DAYS * DAY_MS
MAX_BULK_ROTATE = 100  # keys rotated from the keys page at once (each answer shows every new secret)
GRACE_MESSAGE = f"Enter a time such as 24h, 30m or 0 (at most {MAX_GRACE_DAYS}d)."


@dataclass(frozen=True)
class RotatedKey:
    """One rotation's outcome: the successor with its secret (shown once), and when the old key stops."""

    created: CreatedKey
    previous_id: str
    previous_name: str
    previous_stops: int  # the old key's expiration now: the end of the grace window, or sooner

    def to_json(self) -> dict:
        """Keydesk's answer: create's fields, then both links."""
        return {**self.created.to_json(), "rotated_from": self.previous_id,
                "previous_key": {"id": self.previous_id, "replaced_by": self.created.id,
                                 "expiration": self.previous_stops}}


def grace_period_ms(value: object) -> int:
    """Milliseconds of a grace period: a time value such as `24h`, `30m`, `0` (None: DEFAULT_GRACE_PERIOD), at
    most MAX_GRACE_DAYS; a 400 naming the value otherwise."""
    value = DEFAULT_GRACE_PERIOD if value is None else value
    if isinstance(value, str) and value.strip() == "0":
        return 0
    try:
        grace = settings.parse_duration_ms(value, "grace_period")
    except settings.DurationTooLong:
        grace = None
    except ValueError as error:
        raise DomainError(f"failed to parse setting [grace_period] with value [{str(value)[:100]}] as a time "
                          "value: unit is missing or unrecognized", type="parse_exception", field="grace_period",
                          detail=GRACE_MESSAGE) from error
    if grace is None or grace > MAX_GRACE_MS:
        raise DomainError(f"[grace_period] may be at most [{MAX_GRACE_DAYS}d], found [{str(value)[:100]}]",
                          field="grace_period", detail=GRACE_MESSAGE)
    return grace


def rotate_api_key(subject: Subject, key_id: object, *, grace_period: object = None) -> RotatedKey:
    """Rotate one key the subject may update: the successor (same name, type, role descriptors or access,
    metadata and expiry length, the owner's privileges snapshotted again) and the old key's new end."""
    grace = grace_period_ms(grace_period)
    check_updater(subject, "rest")
    now = now_ms()
    with database.atomic():
        key = load_for_update(subject, key_id, None, now, verb="rotate")
        if key.type == "cross_cluster":
            check_updater(subject, "cross_cluster")
        if key.replaced_by:
            raise _already_rotated(key)
        created, successor = store_new_key(
            subject, name=key.name, key_type=key.type, descriptors=key.role_descriptors,
            limited_by=checks.owner_snapshot(subject) if key.type == "rest" else None, access=key.access,
            metadata=key.metadata, creation=now, expiration=_successor_expiration(key, now), rotated_from=key.id,
            rate_limit=key.rate_limit)
        stops = now + grace if key.expiration is None else min(key.expiration, now + grace)
        claimed = ApiKey.update(replaced_by=successor.id, expiration=stops, version=ApiKey.version + 1).where(
            (ApiKey.id == key.id) & ApiKey.replaced_by.is_null() & (ApiKey.version == key.version)).execute()
        if not claimed:  # another rotation or update got there first: this transaction inserts nothing
            raise _lost_claim(key.id)
        audit.record(subject, "api_key.rotate", target_type="api_key", target_id=key.id,
                     before={"name": key.name, "expiration": key.expiration, "replaced_by": None},
                     after={"name": key.name, "expiration": stops, "replaced_by": successor.id,
                            "grace_period_ms": grace, "successor": {"id": successor.id, **audit_view(successor)}})
    return RotatedKey(created=created, previous_id=key.id, previous_name=key.name, previous_stops=stops)


def _successor_expiration(key, now):
    """As long after now as the old key's expiry was after its creation; never, if it never expired."""
    if key.expiration is None:
        return None
    return now + min(max(key.expiration - key.creation, 0), settings.MAX_DURATION_MS)


def _already_rotated(key):
    return DomainError(f"cannot rotate API key [{key.id}]: it was already rotated, its successor is "
                       f"[{key.replaced_by}]", detail="This key has already been rotated; rotate its successor "
                                                     "instead.")


def _lost_claim(key_id):
    now_row = ApiKey.select(ApiKey.id, ApiKey.replaced_by).where(ApiKey.id == key_id).first()
    if now_row is not None and now_row.replaced_by:
        return _already_rotated(now_row)
    return Conflict(f"API key [{key_id}] changed while it was being rotated; try again")


# ---- the keys page: several at once -------------------------------------------------------------------

@dataclass
class BulkRotation:
    """The keys page's bulk rotation: each successor with its secret, and each key that wasn't rotated."""

    rotated: list[RotatedKey] = field(default_factory=list)
    failed: list = field(default_factory=list)  # [(id, name or id, reason in words)]


def check_rotate_ids(ids: object) -> list[str]:
    """The ids of a bulk rotation, de-duplicated; ValidationFailed for none, too many or malformed ones."""
    ids = [i for i in dict.fromkeys(ids or ()) if isinstance(i, str) and i]
    message = None
    if not all(checks.plausible_id(i) for i in ids):
        message = "That isn't an API key id."
    elif not ids:
        message = "Select at least one API key to rotate."
    elif len(ids) > MAX_BULK_ROTATE:
        message = f"Rotate at most {MAX_BULK_ROTATE} API keys at a time."
    if message:
        raise ValidationFailed([message], fields={"ids": message})
    return ids


def keys_to_rotate(subject: Subject, ids: object) -> list[tuple[ApiKey, str | None]]:
    """The visible keys among `ids`, newest first, each with why it can't be rotated (None: it can)."""
    ids = check_rotate_ids(ids)
    now = now_ms()
    keys = visibility.visible_keys(subject).where(ApiKey.id.in_(ids)).order_by(ApiKey.creation.desc())
    return [(key, visibility.rotate_refusal(subject, key, now)) for key in keys]


def rotate_keys(subject: Subject, ids: object, grace_period: object = None) -> BulkRotation:
    """Rotate each of `ids` the subject may rotate, one successor each (a transaction per key, like a bulk
    update); the others are named with the reason. ValidationFailed for a bad selection or grace period."""
    ids = check_rotate_ids(ids)
    grace_period_ms(grace_period)  # a bad grace period refuses the whole request
    now = now_ms()
    visible = {key.id: key for key in visibility.visible_keys(subject).where(ApiKey.id.in_(ids))}
    outcome = BulkRotation()
    for key_id in ids:
        key = visible.get(key_id)
        refusal = "no such API key" if key is None else visibility.rotate_refusal(subject, key, now)
        if refusal is None:
            try:
                outcome.rotated.append(rotate_api_key(subject, key_id, grace_period=grace_period))
                continue
            except DomainError as error:
                refusal = error.detail
        outcome.failed.append((key_id, key.name if key else key_id, refusal.rstrip(".")))
    return outcome


# ---- what the pages show of rotations -----------------------------------------------------------------

def open_windows(keys: list[ApiKey], now: int) -> dict[str, int]:
    """{key id: when the old key stops} for the keys among `keys` on either side of a rotation whose grace
    window is still open (one query, for the successors' old keys)."""
    windows = {key.id: key.expiration for key in keys
               if key.replaced_by and not key.invalidated and key.expiration is not None and key.expiration > now}
    successors = {key.rotated_from: key.id for key in keys if key.rotated_from}
    if successors:
        old_keys = ApiKey.select(ApiKey.id, ApiKey.expiration).where(
            ApiKey.id.in_(list(successors)) & (ApiKey.invalidated == False)  # noqa: E712 (SQL)
            & (ApiKey.expiration > now))
        windows.update({successors[old.id]: old.expiration for old in old_keys})
    return windows


@dataclass(frozen=True)
class RotationLinks:
    """A key's place in a rotation, as its details show it. A linked key the caller can't see (or that was
    purged) is named by id only."""

    rotated_from: ApiKey | str | None  # the key this one replaced
    replaced_by: ApiKey | str | None  # the key that replaced this one
    stops: int | None  # when the old key of the pair stops working, while its window is open
    refusal: str | None  # why the caller can't rotate this key (None: they may)

    @property
    def may_rotate(self) -> bool:
        return self.refusal is None


def rotation_links(subject: Subject, key: ApiKey, now: int) -> RotationLinks:
    """Both links of `key` (visible keys as rows, others as ids) and whether the caller may rotate it."""
    linked = [i for i in (key.rotated_from, key.replaced_by) if i]
    rows = {row.id: row for row in visibility.visible_keys(subject).where(ApiKey.id.in_(linked))} if linked else {}
    windows = open_windows([key], now)
    return RotationLinks(
        rotated_from=rows.get(key.rotated_from, key.rotated_from),
        replaced_by=rows.get(key.replaced_by, key.replaced_by),
        stops=windows.get(key.id),
        refusal=visibility.rotate_refusal(subject, key, now),
    )
