"""API keys: create, update, invalidate (the API's invalidate and the keys page's delete). Elasticsearch's rules.

Every function takes the acting Subject and raises domain errors (webapp.errors) with ES's messages. What a
request must satisfy is in `checks`; who may see or change which key in `visibility`.
"""

from dataclasses import dataclass, field

from webapp.clock import now_ms
from webapp.errors import DomainError, NotFound, ValidationFailed, from_descriptor_error, unauthorized
from webapp.model import ApiKey
from webapp.model.db import database, is_sqlite
from webapp.security import credentials, privileges
from webapp.security.descriptors.roles import DescriptorError, access_to_role_descriptor, parse_access
from webapp.security.limits import MAX_IDS_PER_REQUEST
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.api_keys import checks, request_limit, visibility
from webapp.services.api_keys.checks import ensure_enabled, require_cross_cluster_license
from webapp.services.audit import trail as audit

UNSET = object()
MAX_DELETE = MAX_IDS_PER_REQUEST  # the keys page deletes at most as many keys as the API invalidates


@dataclass(frozen=True)
class CreatedKey:
    """What create returns, once: the only time the secret exists outside the caller's hands."""

    id: str
    name: str
    expiration: int | None
    api_key: str

    @property
    def encoded(self) -> str:
        return credentials.encode_credential(self.id, self.api_key)

    @property
    def beats(self) -> str:
        return f"{self.id}:{self.api_key}"

    def to_json(self) -> dict:
        body = {"id": self.id, "name": self.name}
        if self.expiration is not None:
            body["expiration"] = self.expiration
        body.update({"api_key": self.api_key, "encoded": self.encoded})
        return body


def _parse_access(access):
    try:
        return parse_access(access)
    except DescriptorError as error:
        raise from_descriptor_error(error, "access") from error


# ---- create -------------------------------------------------------------------------------------------

def create_api_key(subject: Subject, *, name: object, role_descriptors: object = None,
                   expiration: str | None = None, metadata: object = None, rate_limit: object = None) -> CreatedKey:
    """Create a REST key owned by `subject`; returns CreatedKey (the only time the secret is returned).
    `rate_limit` is Keydesk's own ({"requests": N, "per": "1m"}; request_limit.py), never Elasticsearch's."""
    ensure_enabled()
    require(subject, privileges.API_KEY_CREATE)
    checks.validate(name, metadata)
    descriptors = checks.descriptors(role_descriptors)
    if subject.is_api_key and (role_descriptors is None or not descriptors or not checks.grants_nothing(descriptors)):
        raise DomainError("creating derived api keys requires an explicit role descriptor that is empty "
                          "(has no privileges)", field="role_descriptors")
    return _insert(subject, name=name, key_type="rest", descriptors=descriptors,
                   limited_by=checks.owner_snapshot(subject), access=None, expiration=expiration, metadata=metadata,
                   rate_limit=rate_limit)


def create_cross_cluster_api_key(subject: Subject, *, name: object, access: object, expiration: str | None = None,
                                 metadata: object = None, rate_limit: object = None) -> CreatedKey:
    """Create a cross-cluster key (manage_security, enterprise or trial license, not via an API key)."""
    ensure_enabled()
    require(subject, privileges.CROSS_CLUSTER_CREATE)
    if subject.is_api_key:
        raise DomainError("authentication via API key not supported: "
                          "an API key cannot be used to create a cross-cluster API key")
    require_cross_cluster_license()
    checks.validate(name, metadata)
    parsed = _parse_access(access)
    return _insert(subject, name=name, key_type="cross_cluster",
                   descriptors={"cross_cluster": access_to_role_descriptor(parsed)}, limited_by=None,
                   access=parsed, expiration=expiration, metadata=metadata, rate_limit=rate_limit)


def _insert(subject, *, name, key_type, descriptors, limited_by, access, expiration, metadata, rate_limit=None):
    now = now_ms()
    expires = checks.expiration_ms(expiration, now)
    limit = request_limit.stored(rate_limit)
    with database.atomic():
        created, key = store_new_key(subject, name=name, key_type=key_type, descriptors=descriptors,
                                     limited_by=limited_by, access=access, metadata=metadata, creation=now,
                                     expiration=expires, rate_limit=limit)
        audit.record(subject, "api_key.create", target_type="api_key", target_id=key.id,
                     after=audit_view(key))
    return created


def store_new_key(subject: Subject, *, name, key_type, descriptors, limited_by, access, metadata, creation,
                  expiration, rotated_from=None, rate_limit=None) -> tuple[CreatedKey, ApiKey]:
    """Insert a key owned by `subject` with a new id and secret: (its CreatedKey, its row). The caller holds
    the transaction and writes the audit row (create here, rotation in `rotation`)."""
    secret = credentials.new_secret()
    metadata = metadata or {}
    key = ApiKey.create(
        id=credentials.new_key_id(), name=name, type=key_type,
        owner_username=subject.username, owner_realm=subject.realm, owner_realm_type=subject.realm_type,
        creation=creation, expiration=expiration, invalidated=False, secret_hash=credentials.hash_secret(secret),
        role_descriptors=descriptors, limited_by=limited_by, access=access, metadata=metadata,
        managed=metadata.get("managed") is True, rotated_from=rotated_from, rate_limit=rate_limit,
    )
    return CreatedKey(id=key.id, name=name, expiration=expiration, api_key=secret), key


# ---- update -------------------------------------------------------------------------------------------

def load_for_update(subject: Subject, key_id: object, expected_type: str | None, now: int, *,
                    verb: str = "update") -> ApiKey:
    """The key `subject` owns, locked for the transaction, if it may still change: ES's update rule (NotFound,
    or 400 for a key of another type, invalidated or expired). `expected_type` None takes either type;
    `verb` names the change in the messages."""
    query = ApiKey.select().where(ApiKey.id == key_id)
    if not is_sqlite():
        query = query.for_update()  # SQLite's BEGIN IMMEDIATE already serialises writers
    key = query.first() if isinstance(key_id, str) else None
    if key is None or not subject.owns(key.owner_username, key.owner_realm):
        raise NotFound(f"no API key owned by requesting user found for ID [{key_id}]")
    if expected_type is not None and key.type != expected_type:
        raise DomainError(f"cannot {verb} API key of type [{key.type}] while expected type is [{expected_type}]")
    if key.invalidated:
        raise DomainError(f"cannot {verb} invalidated API key [{key.id}]")
    if key.expiration is not None and key.expiration <= now:
        raise DomainError(f"cannot {verb} expired API key [{key.id}]")
    return key


def check_updater(subject: Subject, expected_type: str) -> None:
    """ES's rule for who may update a key of `expected_type`: the owner's privilege (cross-cluster: also
    manage_security and the license), as a user, never through an API key."""
    ensure_enabled()
    if expected_type == "cross_cluster":
        require(subject, privileges.CROSS_CLUSTER_UPDATE)
    else:
        require(subject, privileges.API_KEY_UPDATE)
    if subject.is_api_key:
        raise DomainError("authentication via API key not supported: only the owner user can update an API key")
    if expected_type == "cross_cluster":
        require_cross_cluster_license()


def _changes(subject, key, *, role_descriptors, access, metadata, expiration, now, rate_limit=UNSET):
    """The new column values for `key` (the owner snapshot is refreshed on every update, as in ES)."""
    changes = {}
    if key.type == "rest":
        changes["limited_by"] = checks.owner_snapshot(subject)
        if role_descriptors is not UNSET:
            changes["role_descriptors"] = checks.descriptors(role_descriptors)
    elif access is not UNSET:
        parsed = _parse_access(access)
        changes["access"] = parsed
        changes["role_descriptors"] = {"cross_cluster": access_to_role_descriptor(parsed)}
    if metadata is not UNSET:
        checks.validate_metadata(metadata)
        changes["metadata"] = metadata or {}
        changes["managed"] = (metadata or {}).get("managed") is True
    if expiration is not UNSET and expiration is not None:
        changes["expiration"] = checks.expiration_ms(expiration, now)
    if rate_limit is not UNSET:
        changes["rate_limit"] = request_limit.stored(rate_limit)
    return {field: value for field, value in changes.items() if getattr(key, field) != value}


def update_api_key(subject: Subject, key_id: object, *, role_descriptors: object = UNSET, access: object = UNSET,
                   metadata: object = UNSET, expiration: object = UNSET, expected_type: str = "rest",
                   rate_limit: object = UNSET) -> bool:
    """Update one key the subject owns; returns True when something changed, False for a no-op. `rate_limit`
    (Keydesk's own; None removes it) comes only from the keys pages, never from Elasticsearch's API."""
    check_updater(subject, expected_type)
    now = now_ms()
    with database.atomic():
        key = load_for_update(subject, key_id, expected_type, now)
        changes = _changes(subject, key, role_descriptors=role_descriptors, access=access, metadata=metadata,
                           expiration=expiration, now=now, rate_limit=rate_limit)
        if not changes:
            return False
        before = audit_view(key)
        ApiKey.update(version=ApiKey.version + 1, **changes).where(ApiKey.id == key.id).execute()
        for field, value in changes.items():
            setattr(key, field, value)
        audit.record(subject, "api_key.update", target_type="api_key", target_id=key.id, before=before,
                     after=audit_view(key))
    return True


def bulk_update_api_keys(subject: Subject, ids: list[str], *, role_descriptors: object = UNSET,
                         metadata: object = UNSET, expiration: object = UNSET) -> dict:
    """Apply one update to several keys the subject owns: {updated, noops, errors?} as ES answers."""
    check_updater(subject, "rest")
    checks.check_ids_count(ids)
    if role_descriptors is not UNSET:
        checks.descriptors(role_descriptors)  # fail the whole request on a bad descriptor, as ES does
    if metadata is not UNSET:
        checks.validate_metadata(metadata)
    result = {"updated": [], "noops": []}
    errors = {}
    for key_id in dict.fromkeys(ids):
        try:
            changed = update_api_key(subject, key_id, role_descriptors=role_descriptors, metadata=metadata,
                                     expiration=expiration)
        except DomainError as error:
            errors[key_id] = {"type": error.type, "reason": error.reason}
            continue
        result["updated" if changed else "noops"].append(key_id)
    if errors:
        result["errors"] = {"count": len(errors), "details": errors}
    return result


# ---- invalidate ---------------------------------------------------------------------------------------

def invalidate_api_keys(subject: Subject, *, ids: list[str] | None = None, name: str | None = None,
                        username: str | None = None, realm_name: str | None = None, owner: bool = False) -> dict:
    """Invalidate the matching keys the subject may invalidate, in one statement and one transaction.

    Returns ES's body: invalidated_api_keys, previously_invalidated_api_keys, error_count, error_details.
    A key the subject may not invalidate is never touched, whatever the request names.
    """
    ensure_enabled()
    require(subject, privileges.API_KEY_INVALIDATE)
    checks.check_ids_count(ids)
    query = ApiKey.select(ApiKey.id, ApiKey.type, ApiKey.invalidated, ApiKey.owner_username,
                          ApiKey.owner_realm, ApiKey.name)
    query = visibility.selected(query, ids=ids, name=name, username=username, realm_name=realm_name)
    if owner:
        query = query.where(visibility.own_keys(subject))
    elif not visibility.manages_all_keys(subject):
        # manage_own_api_key: the request must be about the caller's own keys (ES's rule).
        own_user_filter = (username == subject.username and realm_name == subject.realm)
        own_key = subject.is_api_key and ids and list(ids) == [subject.api_key_id]
        if not (own_user_filter or own_key):
            raise unauthorized(subject, privileges.API_KEY_INVALIDATE, privileges.MANAGE_EVERY_KEY)
    now = now_ms()
    if not is_sqlite():
        # Lock the matching rows (in id order, so two invalidations can't wait on each other in a cycle): a
        # concurrent invalidation of the same key waits here and then reads it as already invalidated, instead
        # of both reporting it in `invalidated_api_keys` and both recording an invalidate event.
        # SQLite's BEGIN IMMEDIATE already serialises writers.
        query = query.order_by(ApiKey.id).for_update()
    with database.atomic():
        keys = list(query)
        refusals = {k.id: reason for k in keys if (reason := visibility.invalidate_refusal(subject, k))}
        allowed = [k for k in keys if k.id not in refusals]
        fresh = [k for k in allowed if not k.invalidated]
        if fresh:
            ApiKey.update(invalidated=True, invalidation=now, version=ApiKey.version + 1).where(
                ApiKey.id.in_([k.id for k in fresh]) & (ApiKey.invalidated == False)  # noqa: E712 (SQL)
            ).execute()
            audit.record_many(subject, "api_key.invalidate", target_type="api_key", timestamp=now, changes=[
                (k.id, {"invalidated": False, "name": k.name}, {"invalidated": True, "invalidation": now})
                for k in fresh])
    result = {
        "invalidated_api_keys": [k.id for k in fresh],
        "previously_invalidated_api_keys": [k.id for k in allowed if k.invalidated],
        "error_count": len(refusals),
    }
    if refusals:
        result["error_details"] = [_invalidate_error(key_id, reason) for key_id, reason in refusals.items()]
    return result


def _invalidate_error(key_id, refusal):
    """ES's error detail for a key `invalidate_refusal` refused."""
    if refusal == visibility.CROSS_CLUSTER_NEEDS_MANAGE_SECURITY:
        reason = (f"Cannot invalidate cross-cluster API key [{key_id}]. This requires [manage_security] "
                  "cluster privilege or higher")
    else:
        reason = f"action [{privileges.API_KEY_INVALIDATE}] is unauthorized for API key [{key_id}]"
    return {"type": "security_exception", "reason": reason}


# ---- the keys page's delete (invalidate, with reasons in words) -----------------------------------------

@dataclass
class DeleteOutcome:
    deleted: list = field(default_factory=list)  # [(id, name)]
    failed: list = field(default_factory=list)  # [(id, name or id, reason)]


def check_delete_ids(ids: object) -> list[str]:
    """The ids of a delete request, de-duplicated; ValidationFailed for none, too many or malformed ones."""
    ids = [i for i in dict.fromkeys(ids or ()) if isinstance(i, str) and i]
    if not all(checks.plausible_id(i) for i in ids):
        message = "That isn't an API key id."
        raise ValidationFailed([message], fields={"ids": message})
    if not ids:
        raise ValidationFailed(["Select at least one API key to delete."],
                               fields={"ids": "Select at least one API key to delete."})
    if len(ids) > MAX_DELETE:
        message = f"Delete at most {MAX_DELETE} API keys at a time."
        raise ValidationFailed([message], fields={"ids": message})
    return ids


def keys_to_delete(subject: Subject, ids: object) -> list[ApiKey]:
    """The visible keys among `ids` (for the confirmation), newest first."""
    ids = check_delete_ids(ids)
    return list(visibility.visible_keys(subject).where(ApiKey.id.in_(ids)).order_by(ApiKey.creation.desc()))


def delete_keys(subject: Subject, ids: object) -> DeleteOutcome:
    """Invalidate `ids` in one statement, scoped by the caller's rights; a DeleteOutcome naming each failure."""
    ids = check_delete_ids(ids)
    result = invalidate_api_keys(subject, ids=ids, owner=not visibility.manages_all_keys(subject))
    visible = {key.id: key for key in visibility.visible_keys(subject).where(ApiKey.id.in_(ids))}
    outcome = DeleteOutcome()
    done = set(result["invalidated_api_keys"]) | set(result["previously_invalidated_api_keys"])
    for key_id in ids:
        key = visible.get(key_id)
        if key_id in done:
            outcome.deleted.append((key_id, key.name if key else key_id))
        elif key is None:
            outcome.failed.append((key_id, key_id, "no such API key"))
        else:
            reason = visibility.invalidate_refusal(subject, key) or visibility.ANOTHER_USERS_KEY
            outcome.failed.append((key_id, key.name, reason))
    return outcome


# ---- shapes -------------------------------------------------------------------------------------------

def audit_view(key: ApiKey) -> dict:
    """What the audit trail keeps of a key: everything but the secret hash."""
    return {
        "name": key.name, "type": key.type, "owner": f"{key.owner_username}@{key.owner_realm}",
        "expiration": key.expiration, "invalidated": key.invalidated, "role_descriptors": key.role_descriptors,
        "access": key.access, "metadata": key.metadata,
        **({"rate_limit": key.rate_limit} if key.rate_limit else {}),
    }
