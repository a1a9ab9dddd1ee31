"""Which API keys a subject may see, and why not when they may not update or invalidate one.

Each permission is written once, as a "why not" function (a refusal in words, None when allowed); the yes/no
form the lists and buttons use is derived from it. Listing, searching and the commands all start from
`visible_keys(subject)`, so nobody sees a key they may not.
"""

from peewee import Expression, ModelSelect

from webapp.clock import now_ms
from webapp.errors import NotFound
from webapp.model import ApiKey
from webapp.security import privileges
from webapp.security.subject import Subject
from webapp.services.access.rights import require
from webapp.services.admin import settings
from webapp.services.api_keys.checks import ensure_enabled
from webapp.services.api_keys.es_query import fields as f

# Why a key can't be invalidated (deleted), as the keys page says it.
CROSS_CLUSTER_NEEDS_MANAGE_SECURITY = "deleting a cross-cluster key needs manage_security"
ANOTHER_USERS_KEY = "it belongs to another user"
NO_KEY_PRIVILEGE = "your roles don't allow deleting API keys"
ONLY_ITSELF = "an API key can only delete itself"


def sees_all_keys(subject: Subject) -> bool:
    return subject.may_any(*privileges.SEE_EVERY_KEY)


def manages_all_keys(subject: Subject) -> bool:
    return subject.may_any(*privileges.MANAGE_EVERY_KEY)


def own_keys(subject: Subject) -> Expression:
    """The condition for the subject's own keys: an API key's only itself, a user's all they own."""
    if subject.is_api_key:
        return ApiKey.id == subject.api_key_id
    return ApiKey.owned_by(subject.username, subject.realm)


def visible_keys(subject: Subject, query: ModelSelect | None = None) -> ModelSelect:
    """A query of the keys `subject` may see: all of them, their own, or (an API key) only itself."""
    query = ApiKey.select() if query is None else query
    return query if sees_all_keys(subject) else query.where(own_keys(subject))


def get_visible_key(subject: Subject, key_id: object) -> ApiKey:
    """The key if the subject may see it; NotFound otherwise (no hint whether it exists)."""
    ensure_enabled()
    require(subject, privileges.API_KEY_GET)
    key = visible_keys(subject).where(ApiKey.id == key_id).first() if isinstance(key_id, str) else None
    if key is None:
        raise NotFound(f"api key [{key_id}] not found")
    return key


def name_condition(name: str) -> Expression:
    """ES's `name` filter: exact, or a prefix when it ends in `*` (`*` alone matches every name)."""
    if name == "*":
        return ApiKey.name.is_null(False)
    if name.endswith("*") and "*" not in name[:-1]:
        tokens = [("lit", char) for char in name[:-1]] + [("any",)]
        return f.column_like(ApiKey.name, f.like_pattern(tokens, False), False)
    return ApiKey.name == name


def selected(query: ModelSelect, *, ids: list[str] | None = None, name: str | None = None,
             username: str | None = None, realm_name: str | None = None) -> ModelSelect:
    """`query` narrowed to the keys the Get and Invalidate APIs' selectors name (each one optional)."""
    if ids:
        query = query.where(ApiKey.id.in_(list(ids)))
    if name:
        query = query.where(name_condition(name))
    if username:
        query = query.where(ApiKey.owner_username == username)
    if realm_name:
        query = query.where(ApiKey.owner_realm == realm_name)
    return query


def invalidate_refusal(subject: Subject, key: ApiKey) -> str | None:
    """Why `subject` can't invalidate `key`, or None: the rule the list's checkboxes and delete buttons
    follow and invalidate enforces."""
    if key.type == "cross_cluster" and not subject.may_any(*privileges.MANAGE_SECURITY):
        return CROSS_CLUSTER_NEEDS_MANAGE_SECURITY
    if manages_all_keys(subject):
        return None
    if not subject.may_any(*privileges.MANAGE_OWN_KEYS):
        return NO_KEY_PRIVILEGE
    if subject.is_api_key:
        return None if key.id == subject.api_key_id else ONLY_ITSELF
    return None if subject.owns(key.owner_username, key.owner_realm) else ANOTHER_USERS_KEY


def may_invalidate(subject: Subject, key: ApiKey) -> bool:
    return invalidate_refusal(subject, key) is None


def update_refusal(subject: Subject, key: ApiKey, now: int | None = None) -> str | None:
    """Why `subject` can't update `key`, in words for the details view, or None: owner only, by a user (not
    an API key), while the key is neither invalidated nor expired."""
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


def may_update(subject: Subject, key: ApiKey, now: int | None = None) -> bool:
    return update_refusal(subject, key, now) is None


def rotate_refusal(subject: Subject, key: ApiKey, now: int | None = None) -> str | None:
    """Why `subject` can't rotate `key`, in words, or None: whoever may update it may rotate it
    (`update_refusal`), once; a key already replaced can't be rotated again."""
    refusal = update_refusal(subject, key, now)
    if refusal is None and key.replaced_by:
        return "This key has already been rotated; rotate its successor instead."
    return refusal


def may_rotate(subject: Subject, key: ApiKey, now: int | None = None) -> bool:
    return rotate_refusal(subject, key, now) is None
