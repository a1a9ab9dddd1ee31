"""Peewee models. Times are epoch milliseconds (as Elasticsearch returns them); JSON lives in text columns."""

import json

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    CompositeKey,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from webapp.model.db import database


class JSONField(TextField):
    """A JSON document stored as text, portable across SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Setting(BaseModel):
    """One named value: schema version, license, whether API keys are enabled, retention."""

    name = CharField(primary_key=True, max_length=64)
    value = JSONField()


class User(BaseModel):
    username = CharField(max_length=1024)
    realm = CharField(max_length=64)  # reserved | native | proxy
    full_name = CharField(max_length=1024, null=True)
    email = CharField(max_length=1024, null=True)
    enabled = BooleanField(default=True)
    password_hash = CharField(max_length=128, null=True)
    metadata = JSONField(default=dict)
    # Bumped on every password change, disable and delete-like event: sessions and cached Basic
    # credentials carry the generation they were issued under and stop working when it moves.
    generation = IntegerField(default=1)
    created = BigIntegerField()
    updated = BigIntegerField()

    class Meta:
        indexes = ((("username", "realm"), True),)

    @property
    def owner(self):
        return f"{self.username}@{self.realm}"

    @classmethod
    def by_username(cls, username, realm):
        """The user `username` of `realm`, or None."""
        return cls.get_or_none((cls.username == username) & (cls.realm == realm))


class Role(BaseModel):
    name = CharField(max_length=507, unique=True)
    descriptor = JSONField()  # the full Elasticsearch role descriptor, as GET /_security/role returns it
    reserved = BooleanField(default=False, index=True)
    created = BigIntegerField()
    updated = BigIntegerField()

    @classmethod
    def by_name(cls, name):
        """The role `name`, or None."""
        return cls.get_or_none(cls.name == name)

    @classmethod
    def existing_names(cls, names):
        """The names among `names` that are defined roles."""
        names = list(names)
        return {row.name for row in cls.select(cls.name).where(cls.name.in_(names))} if names else set()

    @classmethod
    def descriptors_of(cls, names):
        """{name: descriptor} for the defined roles among `names`, in their order (an undefined one grants
        nothing). The order is the one merges keep (`_privileges` lists what the first role gave first)."""
        names = list(names)
        rows = cls.select(cls.name, cls.descriptor).where(cls.name.in_(names)) if names else ()
        found = {row.name: row.descriptor for row in rows}
        return {name: found[name] for name in dict.fromkeys(names) if name in found}


class UserRole(BaseModel):
    """A user holds a role by name; like Elasticsearch, the role need not exist (it then grants nothing)."""

    user = ForeignKeyField(User, backref="role_links", on_delete="CASCADE")
    role_name = CharField(max_length=507, index=True)

    class Meta:
        indexes = ((("user", "role_name"), True),)

    @classmethod
    def names_held_by(cls, user):
        """The role names `user` holds, sorted."""
        return tuple(row.role_name for row in cls.select(cls.role_name).where(cls.user == user)
                     .order_by(cls.role_name))


class ApiKey(BaseModel):
    id = CharField(primary_key=True, max_length=20)
    name = CharField(max_length=256)
    type = CharField(max_length=16, default="rest")  # rest | cross_cluster
    owner_username = CharField(max_length=1024)
    owner_realm = CharField(max_length=64)
    owner_realm_type = CharField(max_length=64)
    creation = BigIntegerField()
    expiration = BigIntegerField(null=True)
    invalidated = BooleanField(default=False)
    invalidation = BigIntegerField(null=True)
    secret_hash = CharField(max_length=128)
    role_descriptors = JSONField(default=dict)
    limited_by = JSONField(null=True)  # list of {role name: descriptor}; absent for cross-cluster keys
    access = JSONField(null=True)
    metadata = JSONField(default=dict)
    managed = BooleanField(default=False)  # metadata.managed == true, kept as a column so it can be indexed
    last_used = BigIntegerField(null=True)
    last_used_address = CharField(max_length=64, null=True)
    version = IntegerField(default=1)  # bumped on every update: optimistic checks and cache invalidation
    # Rotation (services/api_keys/rotation.py, schema v6): the key this one succeeded, and the key that
    # succeeded this one (set once, by the conditional UPDATE that claims the key for its one rotation).
    # Their indexes are made by the schema upgrade, not declared here: create_tables runs before the upgrade
    # has added the columns to an older table.
    rotated_from = CharField(max_length=20, null=True)
    replaced_by = CharField(max_length=20, null=True)
    # Keydesk's per-key rate limit (services/api_keys/request_limit.py, schema v7): {"requests": N, "per": "1m"},
    # or NULL for none. Read by the key-verification statement; never part of Elasticsearch's answers.
    rate_limit = JSONField(null=True)

    class Meta:
        indexes = (
            (("owner_username", "owner_realm", "creation"), False),
            (("invalidated", "creation"), False),
            (("invalidated", "name"), False),
            (("invalidated", "expiration"), False),
            (("invalidated", "owner_username"), False),
            (("invalidated", "type", "creation"), False),
        )

    @property
    def owner(self):
        return f"{self.owner_username}@{self.owner_realm}"

    @classmethod
    def owned_by(cls, username, realm):
        """The condition for the keys of user `username` of `realm`."""
        return (cls.owner_username == username) & (cls.owner_realm == realm)


class AuditEvent(BaseModel):
    timestamp = BigIntegerField(index=True)
    actor_username = CharField(max_length=1024, null=True)
    actor_realm = CharField(max_length=64, null=True)
    actor_api_key_id = CharField(max_length=20, null=True)
    address = CharField(max_length=64, null=True)
    action = CharField(max_length=64, index=True)
    target_type = CharField(max_length=32, null=True)
    target_id = CharField(max_length=1024, null=True)
    outcome = CharField(max_length=16, default="success")
    before = JSONField(null=True)
    after = JSONField(null=True)
    detail = TextField(null=True)
    count = IntegerField(default=1)  # repeated failures are folded into one row

    class Meta:
        indexes = ((("actor_username", "timestamp"), False), (("target_id", "timestamp"), False))


class ApiKeyTally(BaseModel):
    """Keys per owner, type, managed and invalidated; kept by triggers on api_key (services/schema/upgrade.py)."""

    owner_username = CharField()
    owner_realm = CharField()
    type = CharField()
    managed = BooleanField()
    invalidated = BooleanField()
    n = BigIntegerField()

    class Meta:
        table_name = "api_key_tally"
        primary_key = False


class UserSession(BaseModel):
    """One signed-in browser session. The cookie carries a random token and the row is keyed by its SHA-256:
    signing out deletes the row, so every instance refuses the cookie at its next request."""

    id = CharField(primary_key=True, max_length=64)  # SHA-256 of the cookie's token, hex
    user_id = IntegerField(index=True)
    created = BigIntegerField()  # sign-in time: the absolute lifetime counts from here
    last_used = BigIntegerField()  # last authenticated page request, written at most once a minute

    class Meta:
        table_name = "user_session"


class ThrottleCounter(BaseModel):
    """Failed authentications in the current window of one throttling limit (webapp/web/throttle_store.py)."""

    key = CharField(primary_key=True, max_length=512)
    hits = IntegerField()
    expires = BigIntegerField(index=True)  # epoch milliseconds at which the window ends

    class Meta:
        table_name = "throttle_counter"


class RoleMapping(BaseModel):
    """A role mapping (PUT /_security/role_mapping/{name}): rules over a user's fields and the roles they give.
    `body` is the mapping as GET answers it (enabled, roles or role_templates, rules, metadata)."""

    name = CharField(max_length=507, unique=True)
    enabled = BooleanField(default=True, index=True)
    body = JSONField()
    created = BigIntegerField()
    updated = BigIntegerField()

    class Meta:
        table_name = "role_mapping"

    @classmethod
    def by_name(cls, name):
        """The mapping `name`, or None."""
        return cls.get_or_none(cls.name == name)


class MappedRoles(BaseModel):
    """Where each role of a proxy-realm user came from, as last computed: {role: [source, ...]} where a
    source is `default` (KEYDESK_PROXY_DEFAULT_ROLES) or `mapping:<name>`. Its user_role rows hold the roles."""

    user_id = IntegerField(primary_key=True)
    sources = JSONField(default=dict)

    class Meta:
        table_name = "mapped_roles"


class NoticeClaim(BaseModel):
    """One expiry notice (services/notices): a key's expiration, the notice ("before:14d", "expired") and the
    channel ("email", "webhook"). Its unique index is the claim: the instance whose INSERT adds the row sends
    the notice, so of several instances running the pass at once exactly one does."""

    key_id = CharField(max_length=20)
    expiration = BigIntegerField()  # the expiration the notice is about: a new one gets notices of its own
    notice = CharField(max_length=16)
    channel = CharField(max_length=16)
    state = CharField(max_length=16)  # sending | sent | failed
    tries = IntegerField(default=1)  # passes that sent it
    claimed = BigIntegerField()  # when this try claimed it (a stale "sending" claim is taken over)

    class Meta:
        table_name = "notice_claim"
        indexes = ((("key_id", "expiration", "notice", "channel"), True), (("expiration",), False))


class NoticeDelivery(BaseModel):
    """One notice sent (or not) to one address: the Settings page lists the newest; the pass prunes old rows."""

    time = BigIntegerField(index=True)
    key_id = CharField(max_length=20)
    key_name = CharField(max_length=256)
    channel = CharField(max_length=16)  # email | webhook
    notice = CharField(max_length=16)
    event = CharField(max_length=32)  # api_key.expiring | api_key.expired
    target = CharField(max_length=2048)  # the email address or the webhook URL
    attempts = IntegerField()
    status = IntegerField(null=True)  # the HTTP status or SMTP reply code of the last attempt, when there was one
    error = TextField(null=True)
    outcome = CharField(max_length=16)  # delivered | failed

    class Meta:
        table_name = "notice_delivery"


# Usage counts of API keys (services/api_keys/usage_counts.py), written by the last-used flush as additive upserts
# so that every instance's counts add up in the same rows. Days have their own table rather than being summed
# from hours: 90 days of hours would be up to 2,160 rows per busy key, against 90 day rows plus 48 hour rows.
class ApiKeyUsageHour(BaseModel):
    """Verified requests of one key in one UTC hour; kept for the last 48 hours."""

    key_id = CharField(max_length=20)
    hour = BigIntegerField()  # the hour's start, epoch milliseconds
    requests = BigIntegerField()

    class Meta:
        table_name = "api_key_usage_hour"
        primary_key = CompositeKey("key_id", "hour")
        indexes = ((("hour",), False),)  # the prune


class ApiKeyUsageDay(BaseModel):
    """Verified requests of one key in one UTC day; kept for the usage retention period (KEYDESK_USAGE_RETENTION)."""

    key_id = CharField(max_length=20)
    day = BigIntegerField()  # the day's start (00:00 UTC), epoch milliseconds
    requests = BigIntegerField()

    class Meta:
        table_name = "api_key_usage_day"
        primary_key = CompositeKey("key_id", "day")
        indexes = ((("day",), False),)


class ApiKeyUsageAddress(BaseModel):
    """One client address a key was verified from: requests since it was first seen, and when it was last seen.
    Forgotten once unseen for the usage retention period."""

    key_id = CharField(max_length=20)
    address = CharField(max_length=64)
    requests = BigIntegerField()
    last_seen = BigIntegerField()

    class Meta:
        table_name = "api_key_usage_address"
        primary_key = CompositeKey("key_id", "address")
        indexes = ((("key_id", "last_seen"), False), (("last_seen",), False))  # the newest ten; the prune


class ApplicationPrivilege(BaseModel):
    """An application privilege (PUT /_security/privilege): a name an outside application gives a list of action
    patterns (`actions`), with free `metadata`. Roles grant them by name in their `applications` entries."""

    application = CharField(max_length=512)  # the two together: at most MAX_NAME_BYTES (application_privileges)
    name = CharField(max_length=512, index=True)
    actions = JSONField()
    metadata = JSONField(default=dict)
    created = BigIntegerField()
    updated = BigIntegerField()

    class Meta:
        table_name = "application_privilege"
        indexes = ((("application", "name"), True),)


ALL_MODELS = (Setting, User, Role, UserRole, ApiKey, AuditEvent, ThrottleCounter, UserSession, RoleMapping,
              MappedRoles, NoticeClaim, NoticeDelivery, ApiKeyUsageHour, ApiKeyUsageDay,
              ApiKeyUsageAddress, ApplicationPrivilege)

__all__ = ["JSONField", "BaseModel", "Setting", "User", "Role", "UserRole", "ApiKey", "AuditEvent", "ApiKeyTally",
           "UserSession", "ThrottleCounter", "RoleMapping", "MappedRoles",
           "NoticeClaim", "NoticeDelivery",
           "ApiKeyUsageHour", "ApiKeyUsageDay", "ApiKeyUsageAddress", "ApplicationPrivilege",
           "ALL_MODELS"]
