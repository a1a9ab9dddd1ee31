"""Who is acting: the Subject every service takes explicitly."""

from dataclasses import dataclass, field

# How the subject proved who it is.
VIA_SESSION = "session"
VIA_BASIC = "basic"
VIA_API_KEY = "api_key"
VIA_PROXY = "proxy"


@dataclass(frozen=True)
class Subject:
    username: str
    realm: str  # the owner's realm name: reserved | native | proxy
    realm_type: str
    roles: tuple  # role names the user holds (empty for an API key, as in Elasticsearch)
    permission: object  # a security.permissions permission: check_cluster / check_index
    via: str
    user_id: int | None = None
    full_name: str | None = None
    email: str | None = None
    metadata: dict = field(default_factory=dict)
    # The user's own role descriptors {name: descriptor}: what a new key's owner snapshot captures.
    role_descriptors: dict = field(default_factory=dict)
    api_key_id: str | None = None
    api_key_name: str | None = None
    address: str | None = None

    @property
    def is_api_key(self) -> bool:
        return self.via == VIA_API_KEY

    @property
    def owner(self) -> tuple[str, str]:
        return (self.username, self.realm)

    @property
    def display(self) -> str:
        return f"{self.username}@{self.realm}"

    def may(self, privilege_or_action: str) -> bool:
        """True when the subject holds the named cluster privilege or one that grants the action."""
        return bool(self.permission.check_cluster(privilege_or_action))

    def may_any(self, *names: str) -> bool:
        return any(self.may(name) for name in names)

    def owns(self, owner_username: str, owner_realm: str) -> bool:
        """Ownership is username and realm: alice@native and alice@proxy are different owners."""
        return owner_username == self.username and owner_realm == self.realm
