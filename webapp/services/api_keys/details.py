"""One API key in full for the details view, and what a caller may do on the keys page.

Effective privileges are put in plain words from the same rules that decide them
(security.permissions): assigned descriptors intersected with the owner snapshot (`limited_by`).
"""

from dataclasses import dataclass, field

from webapp.clock import now_ms
from webapp.errors import NotFound
from webapp.model import ApiKey, Role, User, UserRole
from webapp.security import privileges
from webapp.security.permissions import (
    Permission,
    effective_key_permission,
    role_map_descriptors,
    snapshot_descriptors,
)
from webapp.security.privileges import cluster_privilege_implies
from webapp.security.subject import Subject
from webapp.services.admin import settings
from webapp.services.api_keys import visibility
from webapp.services.api_keys.checks import MAX_ID_LENGTH, owner_snapshot, plausible_id
from webapp.services.api_keys.rotation import RotationLinks, rotation_links
from webapp.services.api_keys.usage import KeyUsage, usage_of
from webapp.services.api_keys.usage_counts import DEFAULT_RETENTION_MS

READ_ONLY_BOILERPLATE = {"read-only-role": {"cluster": [], "indices": [{"names": ["*"], "privileges": ["read"]}]}}
WRITE_ONLY_BOILERPLATE = {"write-only-role": {"cluster": [], "indices": [{"names": ["*"], "privileges": ["write"]}]}}
DEFAULT_ACCESS = {"search": [{"names": ["*"]}], "replication": [{"names": ["*"]}]}


@dataclass(frozen=True)
class KeyRights:
    """What the keys page offers a caller."""

    sees_all: bool  # every user's keys (Owner and Realm columns, Invalidated filter)
    manages_all: bool  # may delete any user's keys
    may_create: bool  # create, update and delete own keys
    may_create_cross_cluster: bool

    @property
    def read_only(self) -> bool:
        return not self.may_create


def rights_of(subject: Subject) -> KeyRights:
    """The KeyRights of `subject` (no database access beyond the license setting)."""
    may_create = subject.may_any(*privileges.MANAGE_OWN_KEYS) and not subject.is_api_key
    return KeyRights(
        sees_all=visibility.sees_all_keys(subject),
        manages_all=visibility.manages_all_keys(subject),
        may_create=may_create,
        may_create_cross_cluster=(may_create and subject.may_any(*privileges.MANAGE_SECURITY)
                                  and settings.cross_cluster_licensed()),
    )


def own_descriptors(subject: Subject) -> dict:
    """The caller's own role descriptors in the shape a key's `role_descriptors` accepts: no description, and
    no reserved (`_`) metadata, which API-key descriptors may not carry."""
    found = {}
    for name, descriptor in owner_snapshot(subject)[0].items():
        kept = {k: v for k, v in descriptor.items() if k not in ("description", "transient_metadata", "metadata")}
        metadata = {k: v for k, v in (descriptor.get("metadata") or {}).items() if not str(k).startswith("_")}
        if metadata:
            kept["metadata"] = metadata
        found[name] = kept
    return found


@dataclass
class KeyDetails:
    key: ApiKey
    rights: KeyRights
    owner_state: str  # enabled | disabled | deleted
    editable: bool
    refusal: str | None  # why the caller can't change the key, in words
    snapshot_differs: bool | None  # None when there's nothing to compare (cross-cluster key, owner gone)
    effective: list = field(default_factory=list)  # sentences
    rotation: RotationLinks | None = None  # the keys it replaced and was replaced by; may the caller rotate it
    usage: KeyUsage | None = None  # requests per day and hour, client addresses (services/api_keys/usage.py)


def key_details(subject: Subject, key_id: str, now: int | None = None,
                usage_retention_ms: int = DEFAULT_RETENTION_MS) -> KeyDetails:
    """The key `key_id` if the subject may see it (NotFound otherwise), with everything the view shows (its usage
    as kept for `usage_retention_ms`, KEYDESK_USAGE_RETENTION)."""
    now = now_ms() if now is None else now
    if not plausible_id(key_id):
        raise NotFound(f"api key [{key_id[:MAX_ID_LENGTH]}] not found")
    key = visibility.get_visible_key(subject, key_id)
    owner = User.by_username(key.owner_username, key.owner_realm)
    owner_state = "deleted" if owner is None else "enabled" if owner.enabled else "disabled"
    refusal = visibility.update_refusal(subject, key, now)
    rights = rights_of(subject)
    if rights.read_only and refusal is None:
        refusal = "Your roles let you look at API keys but not change them."
    return KeyDetails(
        key=key, rights=rights, owner_state=owner_state,
        editable=refusal is None, refusal=refusal,
        snapshot_differs=_snapshot_differs(key, owner), effective=describe_effective(key),
        rotation=rotation_links(subject, key, now), usage=usage_of(key, usage_retention_ms, now),
    )


def _snapshot_differs(key, owner):
    """Elasticsearch semantics: a key keeps its owner snapshot until updated, even when the roles change."""
    if key.type != "rest" or owner is None:
        return None
    descriptors = Role.descriptors_of(UserRole.names_held_by(owner))
    current = [{name: {k: v for k, v in d.items() if k != "description"} for name, d in sorted(descriptors.items())}]
    return current != (key.limited_by or [{}])


# ---- effective privileges in words ------------------------------------------------------------------

def _fewest(privileges):
    """Drop every privilege another one in the set already implies: {all, monitor} -> [all]."""
    privileges = set(privileges) - {"none"}  # "none" grants nothing, and everyone holds it
    return sorted(p for p in privileges
                  if not any(q != p and cluster_privilege_implies(q, p) for q in privileges))


def _join(items):
    items = list(items)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _index_sentences(descriptors):
    lines = []
    for descriptor in descriptors:
        for entry in descriptor.get("indices") or ():
            names, privileges = entry.get("names") or [], entry.get("privileges") or []
            if names and privileges:
                lines.append(f"{_join(privileges)} on {_join(names)}")
    return lines


def describe_effective(key: ApiKey) -> list[str]:
    """What `key` may do, as sentences a person can read."""
    if key.type == "cross_cluster":
        access = key.access or {}
        lines = []
        for entry in access.get("search") or ():
            lines.append(f"Remote clusters may search {_join(entry.get('names') or [])}.")
        for entry in access.get("replication") or ():
            lines.append(f"Remote clusters may replicate {_join(entry.get('names') or [])}.")
        return lines or ["This cross-cluster key grants no access."]
    snapshot = snapshot_descriptors(key.limited_by)
    assigned = role_map_descriptors(key.role_descriptors)
    permission = effective_key_permission(key.role_descriptors, key.limited_by)
    cluster = _fewest(permission.cluster_privileges())
    lines = [f"Cluster privileges: {_join(cluster)}." if cluster else "No cluster privileges."]
    if not assigned:
        lines.insert(0, "The key has no role descriptors of its own, so it has exactly what its owner's roles "
                        "granted when it was created or last updated.")
        indices = _index_sentences(snapshot)
        lines.append(f"Index privileges: {'; '.join(indices)}." if indices else "No index privileges.")
        return lines
    lines.insert(0, "The key can use what its role descriptors grant, and only as far as its owner's "
                    "snapshot also allows.")
    owner = Permission(snapshot)
    for descriptor in assigned:
        for entry in descriptor.get("indices") or ():
            for name in entry.get("names") or ():
                kept = [p for p in entry.get("privileges") or () if owner.check_index_pattern(
                    name, p, allow_restricted_indices=entry.get("allow_restricted_indices") is True)]
                lost = [p for p in entry.get("privileges") or () if p not in kept]
                if kept:
                    lines.append(f"Index privileges on {name}: {_join(kept)}.")
                if lost:
                    lines.append(f"Asked for {_join(lost)} on {name}, which the owner's snapshot doesn't "
                                 "allow, so the key can't use it.")
    if not any(entry for d in assigned for entry in (d.get("indices") or ())):
        lines.append("No index privileges.")
    return lines
