"""What the API keys pages need, one call per page: the list with what the caller may do on it, creating a key
(and the list that then shows it), updating one from its form, and deleting keys (and the list after it)."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from webapp.clock import now_ms
from webapp.errors import DomainError, FeatureDisabled, ValidationFailed
from webapp.model import ApiKey
from webapp.security.subject import Subject
from webapp.services.api_keys import commands, listing, rotation, visibility
from webapp.services.api_keys.commands import MAX_DELETE, CreatedKey, DeleteOutcome
from webapp.services.api_keys.criteria import build_criteria
from webapp.services.api_keys.details import KeyDetails, KeyRights, key_details, own_descriptors, rights_of
from webapp.services.api_keys.usage import unused_condition
from webapp.services.api_keys.usage_counts import DEFAULT_RETENTION_MS

# The list's columns (sort key, heading), in order; Owner and Realm only for a caller who sees every key.
COLUMNS = (("name", "Name"), ("type", "Type"), ("owner", "Owner"), ("realm", "Realm"), ("created", "Created"),
           ("status", "Status"), ("last_used", "Last used"))


@dataclass(frozen=True)
class KeyListPage:
    """Everything keys/index.html and keys/_table.html show. `values` are the list's parameters as the form
    shows them (q, type, status, owner, sort, dir, size, unused); `errors` says why they were refused."""

    values: dict
    rights: KeyRights
    owner_choices: list
    now: int
    page: listing.KeyPage | None = None
    errors: dict = field(default_factory=dict)
    deletable: frozenset = frozenset()
    rotatable: frozenset = frozenset()
    rotating: dict = field(default_factory=dict)  # {key id: when the old key of its rotation stops}
    created_id: str | None = None
    own_descriptors: dict | None = None  # the create form's starting point, for a caller who may create
    columns: tuple = COLUMNS

    def context(self) -> dict:
        """The fields as template variables."""
        return dict(vars(self))


def key_page(subject: Subject, values: dict, *, after: str | None = None, before: str | None = None,
             created_id: str | None = None) -> KeyListPage:
    """One page of the keys list for `values`, or the refused values with their messages."""
    rights = rights_of(subject)
    now = now_ms()
    common = {"values": values, "rights": rights, "now": now, "created_id": created_id,
              "own_descriptors": own_descriptors(subject) if rights.may_create else None}
    try:
        criteria = build_criteria(subject, q=values["q"], type=values["type"], status=values["status"],
                                  owners=values["owner"], sort=values["sort"], direction=values["dir"],
                                  size=values["size"] or None, unused=values.get("unused"))
        page = listing.search_keys(subject, criteria, after=after or None, before=before or None)
    except ValidationFailed as error:
        return KeyListPage(errors=error.fields, owner_choices=listing.owner_choices(subject), **common)
    deletable = frozenset(key.id for key in page.keys if visibility.may_invalidate(subject, key))
    rotatable = frozenset(key.id for key in page.keys if rights.may_create and visibility.may_rotate(subject, key, now))
    return KeyListPage(page=page, owner_choices=page.owner_choices, deletable=deletable, rotatable=rotatable,
                       rotating=rotation.open_windows(page.keys, now), **common)


@dataclass(frozen=True)
class KeyCreated:
    created: CreatedKey
    listing: KeyListPage


def create_key(subject: Subject, request: dict, values: dict) -> KeyCreated:
    """Create the key `request` describes (kind, name, role_descriptors or access, expiration, metadata,
    rate_limit), and the list for `values` with it marked."""
    if request["kind"] == "cross_cluster":
        created = commands.create_cross_cluster_api_key(
            subject, name=request["name"], access=request["access"], expiration=request["expiration"],
            metadata=request["metadata"], rate_limit=request.get("rate_limit"))
    else:
        created = commands.create_api_key(subject, name=request["name"], role_descriptors=request["role_descriptors"],
                                          expiration=request["expiration"], metadata=request["metadata"],
                                          rate_limit=request.get("rate_limit"))
    return KeyCreated(created=created, listing=key_page(subject, values, created_id=created.id))


@dataclass(frozen=True)
class KeyUpdate:
    """The key after an update from its form: `errors` from reading the form, or the service's `refusal`."""

    details: KeyDetails
    errors: dict = field(default_factory=dict)
    refusal: DomainError | None = None
    changed: bool = False

    @property
    def done(self) -> bool:
        return not self.errors and self.refusal is None


def update_key(subject: Subject, key_id: str, changes_for: Callable[[ApiKey], tuple[dict, dict]],
               usage_retention_ms: int = DEFAULT_RETENTION_MS) -> KeyUpdate:
    """Update `key_id` with what `changes_for(key)` reads from the form: (update_api_key's arguments, errors).
    NotFound for a key the caller can't see; FeatureDisabled passes through."""
    details = key_details(subject, key_id, usage_retention_ms=usage_retention_ms)
    changes, errors = changes_for(details.key)
    if errors:
        return KeyUpdate(details=details, errors=errors)
    try:
        changed = commands.update_api_key(subject, key_id, **changes)
    except FeatureDisabled:
        raise
    except DomainError as error:
        return KeyUpdate(details=details, refusal=error)
    return KeyUpdate(details=key_details(subject, key_id, usage_retention_ms=usage_retention_ms), changed=changed)


@dataclass(frozen=True)
class KeyDeletion:
    outcome: DeleteOutcome
    listing: KeyListPage | None


def delete_keys(subject: Subject, ids: list[str], values: dict | None = None) -> KeyDeletion:
    """Delete the keys `ids` the caller may delete; with `values`, the list as it then stands."""
    outcome = commands.delete_keys(subject, ids)
    return KeyDeletion(outcome=outcome, listing=None if values is None else key_page(subject, values))


def keys_to_delete(subject: Subject, ids: list[str]) -> list[ApiKey]:
    """The keys a delete confirmation lists (ValidationFailed for a bad selection)."""
    return commands.keys_to_delete(subject, ids)


NOTHING_UNUSED = "No API key you may delete has gone unused for 90 days."


def unused_keys_to_delete(subject: Subject, values: dict) -> list[ApiKey]:
    """What "Delete unused keys" offers for the list's `values` (with its "Not used for 90 days" filter on): the
    keys it shows that the caller may delete, at most 1,000, those unused longest first; ValidationFailed when
    the filter is off or there are none."""
    criteria = build_criteria(subject, q=values["q"], type=values["type"], status=values["status"],
                              owners=values["owner"], unused=values.get("unused"))
    if not criteria.unused:
        raise ValidationFailed(["Choose the Not used for 90 days filter first."])
    if not visibility.manages_all_keys(subject):  # only their own keys are theirs to delete
        if criteria.owners and subject.owner not in criteria.owners:
            raise ValidationFailed([NOTHING_UNUSED])
        criteria = replace(criteria, owners=(subject.owner,))
    ids = listing.matching_key_ids(subject, criteria, MAX_DELETE)
    found = {key.id: key for key in commands.keys_to_delete(subject, ids)} if ids else {}
    keys = [found[i] for i in ids if i in found and visibility.may_invalidate(subject, found[i])]
    if not keys:
        raise ValidationFailed([NOTHING_UNUSED])
    return keys


def delete_unused_keys(subject: Subject, ids: list[str], values: dict | None = None) -> KeyDeletion:
    """Delete those of `ids` that are still unused for 90 days (a key used since the confirmation stays, and is
    named in the outcome); with `values`, the list as it then stands."""
    ids = commands.check_delete_ids(ids)
    still = {key.id for key in ApiKey.select(ApiKey.id).where(ApiKey.id.in_(ids), unused_condition(now_ms()))}
    outcome = commands.delete_keys(subject, [i for i in ids if i in still]) if still else DeleteOutcome()
    used = {key.id: key.name for key in visibility.visible_keys(subject).where(
        ApiKey.id.in_([i for i in ids if i not in still]))}
    for key_id in (i for i in ids if i not in still):
        outcome.failed.append((key_id, used[key_id], "it was used in the last 90 days") if key_id in used
                              else (key_id, key_id, "no such API key"))
    return KeyDeletion(outcome=outcome, listing=None if values is None else key_page(subject, values))


@dataclass(frozen=True)
class KeyRotation:
    """A key after rotating it from its details: the successor, or the messages (`errors`, by form field)."""

    details: KeyDetails
    rotated: rotation.RotatedKey | None = None
    errors: dict = field(default_factory=dict)


def rotate_key(subject: Subject, key_id: str, grace_period: str,
               usage_retention_ms: int = DEFAULT_RETENTION_MS) -> KeyRotation:
    """Rotate `key_id` with `grace_period`; the details of the old key as it then stands. NotFound for a key
    the caller can't see; FeatureDisabled passes through."""
    details = key_details(subject, key_id, usage_retention_ms=usage_retention_ms)
    if details.rotation.refusal:
        return KeyRotation(details=details, errors={"rotate": details.rotation.refusal})
    try:
        rotated = rotation.rotate_api_key(subject, key_id, grace_period=grace_period)
    except FeatureDisabled:
        raise
    except DomainError as error:
        return KeyRotation(details=details, errors={error.field or "rotate": error.detail})
    return KeyRotation(details=key_details(subject, key_id, usage_retention_ms=usage_retention_ms), rotated=rotated)


@dataclass(frozen=True)
class KeysRotated:
    outcome: rotation.BulkRotation
    listing: KeyListPage


def rotate_keys(subject: Subject, ids: list[str], grace_period: str, values: dict) -> KeysRotated:
    """Rotate the keys `ids` the caller may rotate, and the list for `values` as it then stands."""
    outcome = rotation.rotate_keys(subject, ids, grace_period)
    return KeysRotated(outcome=outcome, listing=key_page(subject, values))


def keys_to_rotate(subject: Subject, ids: list[str]) -> list:
    """The keys a bulk rotation's confirmation lists, each with why it can't be rotated (ValidationFailed for a
    bad selection)."""
    return rotation.keys_to_rotate(subject, ids)
