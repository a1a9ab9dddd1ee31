"""API keys: create, update, invalidate, and what a subject may see or change. Elasticsearch's rules.

Every function takes the acting Subject and raises domain errors (services.errors) with ES's messages.
Listing and searching live beside this module (key_search for the page, key_query for the Query API);
both start from `visible_keys(subject)` so nobody sees a key they may not.
"""

from dataclasses import dataclass

from webapp.clock import now_ms
from webapp.errors import (
    DomainError,
    FeatureDisabled,
    LicenseError,
    NotFound,
    ValidationFailed,
    from_descriptor_error,
    unauthorized,
)
from webapp.model import ApiKey, AuditEvent
from webapp.model.db import database, is_sqlite
from webapp.security import credentials, limits, privileges
from webapp.security.descriptors.roles import (
    DescriptorError,
    access_to_role_descriptor,
    parse_access,
    parse_role_descriptors,
)
from webapp.services.access.rights import require
from webapp.services.admin import settings
from webapp.services.audit import trail as audit

MAX_NAME_LENGTH = 256
UNSET = object()
CROSS_CLUSTER_FEATURE = "advanced-remote-cluster-security"


@dataclass(frozen=True)
class CreatedKey:
    """What create returns, once: the only time the secret exists outside the caller's hands."""

    id: str
    name: str
    expiration: int | None
    api_key: str

    @property
    def encoded(self):
        return credentials.encode_credential(self.id, self.api_key)

    @property
    def beats(self):
        return f"{self.id}:{self.api_key}"

    def to_json(self):
        body = {"id": self.id, "name": self.name}
        if self.expiration is not None:
            body["expiration"] = self.expiration
        body.update({"api_key": self.api_key, "encoded": self.encoded})
        return body


# ---- checks shared by every entry point --------------------------------------------------------------

def ensure_enabled():
    if not settings.api_keys_enabled():
        raise FeatureDisabled()


def name_problems(name):
    """ES's messages for a bad key name (an empty list when it is fine)."""
    if name is None or (isinstance(name, str) and name == ""):
        return ["api key name is required"]
    if not isinstance(name, str):
        return ["api key name must be a string"]
    problems = []
    if len(name) > MAX_NAME_LENGTH:
        problems.append(f"api key name may not be more than {MAX_NAME_LENGTH} characters long")
    if name != name.strip():
        problems.append("api key name may not begin or end with whitespace")
    if name.startswith("_"):
        problems.append("api key name may not begin with an underscore")
    return problems


def metadata_problems(metadata):
    if metadata is None:
        return []
    if not isinstance(metadata, dict):
        return ["API key metadata must be an object"]
    if any(str(key).startswith("_") for key in metadata):
        return ["API key metadata keys may not start with [_]"]
    if (too_large := limits.metadata_size_problem(metadata, "API key metadata")):
        return [too_large]
    return []


def expiration_ms(expiration, now):
    """Absolute expiry in ms from an ES time value like `30d`; None for no expiry."""
    if expiration is None:
        return None
    try:
        delta = settings.parse_duration_ms(expiration)
    except ValueError as error:
        raise DomainError(
            f"failed to parse setting [expiration] with value [{expiration}] as a time value: "
            "unit is missing or unrecognized", type="parse_exception", field="expiration") from error
    # Like ES, whole seconds of the duration are added to now.
    return now + (delta // 1000) * 1000


def _validate(name=UNSET, metadata=None):
    problems = []
    if name is not UNSET:
        problems += name_problems(name)
    problems += metadata_problems(metadata)
    if problems:
        fields = {}
        for problem in problems:
            fields.setdefault("metadata" if "metadata" in problem else "name", problem)
        raise ValidationFailed(problems, fields=fields)


def _descriptors(body):
    if isinstance(body, (dict, list)) and (too_many := limits.role_descriptors_count_problem(len(body))):
        raise ValidationFailed([too_many], fields={"role_descriptors": too_many})
    try:
        return parse_role_descriptors(body or {}, for_api_key=True)
    except DescriptorError as error:
        raise from_descriptor_error(error, "role_descriptors") from error


def _grants_nothing(descriptors):
    return all(
        not d.get("cluster") and not d.get("indices") and not d.get("applications") and not d.get("run_as")
        and not d.get("remote_indices") and not d.get("remote_cluster")
        for d in descriptors.values()
    )


def owner_snapshot(subject):
    """The owner's current role descriptors, as stored in `limited_by` (descriptions stripped, like ES)."""
    snapshot = {
        name: {k: v for k, v in descriptor.items() if k != "description"}
        for name, descriptor in sorted(subject.role_descriptors.items())
    }
    return [snapshot]


def require_cross_cluster_license():
    if not settings.cross_cluster_licensed():
        raise LicenseError(
            f"current license is non-compliant for [{CROSS_CLUSTER_FEATURE}]",
            extra={"license.expired.feature": CROSS_CLUSTER_FEATURE},
        )



# ---- visibility ---------------------------------------------------------------------------------------

def sees_all_keys(subject):
    return subject.may_any(*privileges.SEE_EVERY_KEY)


def manages_all_keys(subject):
    return subject.may_any(*privileges.MANAGE_EVERY_KEY)


def visible_keys(subject, query=None):
    """A query of the keys `subject` may see: all of them, their own, or (an API key) only itself."""
    query = ApiKey.select() if query is None else query
    if sees_all_keys(subject):
        return query
    if subject.is_api_key:
        return query.where(ApiKey.id == subject.api_key_id)
    return query.where((ApiKey.owner_username == subject.username) & (ApiKey.owner_realm == subject.realm))


def get_visible_key(subject, key_id):
    """The key if the subject may see it; NotFound otherwise (no hint whether it exists)."""
    ensure_enabled()
    require(subject, privileges.API_KEY_GET)
    key = visible_keys(subject).where(ApiKey.id == key_id).first() if isinstance(key_id, str) else None
    if key is None:
        raise NotFound(f"api key [{key_id}] not found")
    return key


def may_invalidate(subject, key):
    """The rule the list's checkboxes and delete buttons follow, and invalidate enforces."""
    if key.type == "cross_cluster" and not subject.may_any(*privileges.MANAGE_SECURITY):
        return False
    if manages_all_keys(subject):
        return True
    if not subject.may_any(*privileges.MANAGE_OWN_KEYS):
        return False
    if subject.is_api_key:
        return key.id == subject.api_key_id
    return subject.owns(key.owner_username, key.owner_realm)


def may_update(subject, key, now=None):
    """Owner only, by a user (not an API key), while the key is neither invalidated nor expired."""
    now = now_ms() if now is None else now
    if subject.is_api_key or not subject.owns(key.owner_username, key.owner_realm):
        return False
    if key.invalidated or (key.expiration is not None and key.expiration <= now):
        return False
    if key.type == "cross_cluster":
        return subject.may_any(*privileges.MANAGE_SECURITY) and settings.cross_cluster_licensed()
    return subject.may_any(*privileges.MANAGE_OWN_KEYS)


def update_refusal(subject, key, now=None):
    """Why `subject` can't update `key`, in words for the details view, or None."""
    now = now_ms() if now is None else now
    if subject.is_api_key:
        return "API keys can't update API keys; sign in as the owner."
    if not subject.owns(key.owner_username, key.owner_realm):
        return "This key belongs to another user; only its owner can change it."
    if key.invalidated:
        return "This key has been invalidated and can no longer be changed."
    if key.expiration is not None and key.expiration <= now:
        return "This key has expired and can no longer be changed."
    if key.type == "cross_cluster" and not subject.may_any(*privileges.MANAGE_SECURITY):
        return "Changing a cross-cluster key needs the manage_security privilege."
    if key.type == "cross_cluster" and not settings.cross_cluster_licensed():
        return "Changing a cross-cluster key needs an enterprise license or an active trial."
    if not subject.may_any(*privileges.MANAGE_OWN_KEYS):
        return "Your roles don't allow changing API keys."
    return None


# ---- create -------------------------------------------------------------------------------------------

def create_api_key(subject, *, name, role_descriptors=None, expiration=None, metadata=None):
    """Create a REST key owned by `subject`; returns CreatedKey (the only time the secret is returned)."""
    ensure_enabled()
    require(subject, privileges.API_KEY_CREATE)
    _validate(name, metadata)
    descriptors = _descriptors(role_descriptors)
    if subject.is_api_key and (role_descriptors is None or not descriptors or not _grants_nothing(descriptors)):
        raise DomainError("creating derived api keys requires an explicit role descriptor that is empty "
                          "(has no privileges)", field="role_descriptors")
    return _insert(subject, name=name, key_type="rest", descriptors=descriptors,
                   limited_by=owner_snapshot(subject), access=None, expiration=expiration, metadata=metadata)


def create_cross_cluster_api_key(subject, *, name, access, expiration=None, metadata=None):
    """Create a cross-cluster key (manage_security, enterprise or trial license, not via an API key)."""
    ensure_enabled()
    require(subject, privileges.CROSS_CLUSTER_CREATE)
    if subject.is_api_key:
        raise DomainError("authentication via API key not supported: "
                          "an API key cannot be used to create a cross-cluster API key")
    require_cross_cluster_license()
    _validate(name, metadata)
    try:
        parsed = parse_access(access)
    except DescriptorError as error:
        raise from_descriptor_error(error, "access") from error
    return _insert(subject, name=name, key_type="cross_cluster",
                   descriptors={"cross_cluster": access_to_role_descriptor(parsed)}, limited_by=None,
                   access=parsed, expiration=expiration, metadata=metadata)


def _insert(subject, *, name, key_type, descriptors, limited_by, access, expiration, metadata):
    now = now_ms()
    expires = expiration_ms(expiration, now)
    secret = credentials.new_secret()
    metadata = metadata or {}
    with database.atomic():
        key = ApiKey.create(
            id=credentials.new_key_id(), name=name, type=key_type,
            owner_username=subject.username, owner_realm=subject.realm, owner_realm_type=subject.realm_type,
            creation=now, expiration=expires, invalidated=False, secret_hash=credentials.hash_secret(secret),
            role_descriptors=descriptors, limited_by=limited_by, access=access, metadata=metadata,
            managed=metadata.get("managed") is True,
        )
        audit.record(subject, "api_key.create", target_type="api_key", target_id=key.id,
                     after=audit_view(key))
    return CreatedKey(id=key.id, name=name, expiration=expires, api_key=secret)


# ---- update -------------------------------------------------------------------------------------------

def _load_for_update(subject, key_id, expected_type, now):
    query = ApiKey.select().where(ApiKey.id == key_id)
    if not is_sqlite():
        query = query.for_update()  # SQLite's BEGIN IMMEDIATE already serialises writers
    key = query.first() if isinstance(key_id, str) else None
    if key is None or not subject.owns(key.owner_username, key.owner_realm):
        raise NotFound(f"no API key owned by requesting user found for ID [{key_id}]")
    if key.type != expected_type:
        raise DomainError(f"cannot update API key of type [{key.type}] while expected type is [{expected_type}]")
    if key.invalidated:
        raise DomainError(f"cannot update invalidated API key [{key.id}]")
    if key.expiration is not None and key.expiration <= now:
        raise DomainError(f"cannot update expired API key [{key.id}]")
    return key


def _check_updater(subject, expected_type):
    ensure_enabled()
    if expected_type == "cross_cluster":
        require(subject, privileges.CROSS_CLUSTER_UPDATE)
    else:
        require(subject, privileges.API_KEY_UPDATE)
    if subject.is_api_key:
        raise DomainError("authentication via API key not supported: only the owner user can update an API key")
    if expected_type == "cross_cluster":
        require_cross_cluster_license()


def _changes(subject, key, *, role_descriptors, access, metadata, expiration, now):
    """The new column values for `key` (the owner snapshot is refreshed on every update, as in ES)."""
    changes = {}
    if key.type == "rest":
        changes["limited_by"] = owner_snapshot(subject)
        if role_descriptors is not UNSET:
            changes["role_descriptors"] = _descriptors(role_descriptors)
    elif access is not UNSET:
        try:
            parsed = parse_access(access)
        except DescriptorError as error:
            raise from_descriptor_error(error, "access") from error
        changes["access"] = parsed
        changes["role_descriptors"] = {"cross_cluster": access_to_role_descriptor(parsed)}
    if metadata is not UNSET:
        _validate(metadata=metadata)
        changes["metadata"] = metadata or {}
        changes["managed"] = (metadata or {}).get("managed") is True
    if expiration is not UNSET and expiration is not None:
        changes["expiration"] = expiration_ms(expiration, now)
    return {field: value for field, value in changes.items() if getattr(key, field) != value}


def update_api_key(subject, key_id, *, role_descriptors=UNSET, access=UNSET, metadata=UNSET, expiration=UNSET,
                   expected_type="rest"):
    """Update one key the subject owns; returns True when something changed, False for a no-op."""
    _check_updater(subject, expected_type)
    now = now_ms()
    with database.atomic():
        key = _load_for_update(subject, key_id, expected_type, now)
        changes = _changes(subject, key, role_descriptors=role_descriptors, access=access, metadata=metadata,
                           expiration=expiration, now=now)
        if not changes:
            return False
        before = audit_view(key)
        ApiKey.update(version=ApiKey.version + 1, **changes).where(ApiKey.id == key.id).execute()
        for field, value in changes.items():
            setattr(key, field, value)
        audit.record(subject, "api_key.update", target_type="api_key", target_id=key.id, before=before,
                     after=audit_view(key))
    return True


def bulk_update_api_keys(subject, ids, *, role_descriptors=UNSET, metadata=UNSET, expiration=UNSET):
    """Apply one update to several keys the subject owns: {updated, noops, errors?} as ES answers."""
    _check_updater(subject, "rest")
    _check_ids_count(ids)
    if role_descriptors is not UNSET:
        _descriptors(role_descriptors)  # fail the whole request on a bad descriptor, as ES does
    if metadata is not UNSET:
        _validate(metadata=metadata)
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

def invalidate_api_keys(subject, *, ids=None, name=None, username=None, realm_name=None, owner=False):
    """Invalidate the matching keys the subject may invalidate, in one statement and one transaction.

    Returns ES's body: invalidated_api_keys, previously_invalidated_api_keys, error_count, error_details.
    A key the subject may not invalidate is never touched, whatever the request names.
    """
    ensure_enabled()
    require(subject, privileges.API_KEY_INVALIDATE)
    _check_ids_count(ids)
    query = ApiKey.select(ApiKey.id, ApiKey.type, ApiKey.invalidated, ApiKey.owner_username,
                          ApiKey.owner_realm, ApiKey.name)
    if ids:
        query = query.where(ApiKey.id.in_(list(ids)))
    if name:
        query = query.where(_name_condition(name))
    if username:
        query = query.where(ApiKey.owner_username == username)
    if realm_name:
        query = query.where(ApiKey.owner_realm == realm_name)
    if owner:
        if subject.is_api_key:
            query = query.where(ApiKey.id == subject.api_key_id)
        else:
            query = query.where((ApiKey.owner_username == subject.username)
                                & (ApiKey.owner_realm == subject.realm))
    elif not manages_all_keys(subject):
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
        allowed = [k for k in keys if may_invalidate(subject, k)]
        refused = [k for k in keys if not may_invalidate(subject, k)]
        fresh = [k.id for k in allowed if not k.invalidated]
        previously = [k.id for k in allowed if k.invalidated]
        if fresh:
            ApiKey.update(invalidated=True, invalidation=now, version=ApiKey.version + 1).where(
                ApiKey.id.in_(fresh) & (ApiKey.invalidated == False)  # noqa: E712 (SQL, not Python)
            ).execute()
            AuditEvent.insert_many([
                {"timestamp": now, "actor_username": subject.username, "actor_realm": subject.realm,
                 "actor_api_key_id": subject.api_key_id, "address": subject.address,
                 "action": "api_key.invalidate", "target_type": "api_key", "target_id": k.id,
                 "outcome": "success", "before": {"invalidated": False, "name": k.name},
                 "after": {"invalidated": True, "invalidation": now}, "count": 1}
                for k in allowed if not k.invalidated
            ]).execute()
    result = {
        "invalidated_api_keys": fresh,
        "previously_invalidated_api_keys": previously,
        "error_count": len(refused),
    }
    if refused:
        result["error_details"] = [
            {"type": "security_exception",
             "reason": f"Cannot invalidate cross-cluster API key [{k.id}]. This requires [manage_security] "
                       "cluster privilege or higher" if k.type == "cross_cluster"
             else f"action [{privileges.API_KEY_INVALIDATE}] is unauthorized for API key [{k.id}]"}
            for k in refused
        ]
    return result


def _check_ids_count(ids):
    if ids and (too_many := limits.ids_count_problem(len(ids))):
        raise ValidationFailed([too_many], fields={"ids": too_many})


def _name_condition(name):
    """ES `name` filter: exact, or a prefix when it ends in `*` (`*` alone matches every name)."""
    if name == "*":
        return ApiKey.name.is_null(False)
    if name.endswith("*") and "*" not in name[:-1]:
        prefix = name[:-1]
        return ApiKey.name.startswith(prefix)
    return ApiKey.name == name


# ---- shapes -------------------------------------------------------------------------------------------

def audit_view(key):
    """What the audit trail keeps of a key: everything but the secret hash."""
    return {
        "name": key.name, "type": key.type, "owner": f"{key.owner_username}@{key.owner_realm}",
        "expiration": key.expiration, "invalidated": key.invalidated, "role_descriptors": key.role_descriptors,
        "access": key.access, "metadata": key.metadata,
    }


def key_to_json(key, *, with_limited_by=False):
    """The ApiKey object as Elasticsearch's get/query APIs return it."""
    body = {
        "id": key.id,
        "name": key.name,
        "type": key.type,
        "creation": key.creation,
        "invalidated": key.invalidated,
        "username": key.owner_username,
        "realm": key.owner_realm,
        "realm_type": key.owner_realm_type,
        "metadata": key.metadata or {},
        "role_descriptors": key.role_descriptors or {},
    }
    if key.expiration is not None:
        body["expiration"] = key.expiration
    if key.invalidated and key.invalidation is not None:
        body["invalidation"] = key.invalidation
    if key.type == "cross_cluster":
        body["access"] = key.access or {}
    elif with_limited_by:
        body["limited_by"] = key.limited_by or []
    return body
