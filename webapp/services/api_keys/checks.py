"""What a request about API keys must satisfy before anything is read or written: the feature switch, the
license for cross-cluster keys, names, metadata, expiry, role descriptors, ids and how selectors combine.

Each check raises a domain error (webapp.errors) or returns Elasticsearch's messages.
"""

from webapp.errors import DomainError, FeatureDisabled, LicenseError, ValidationFailed, from_descriptor_error
from webapp.security import limits
from webapp.security.descriptors.roles import DescriptorError, parse_role_descriptors
from webapp.security.subject import Subject
from webapp.services.admin import settings

MAX_NAME_LENGTH = 256
MAX_ID_LENGTH = 64
CROSS_CLUSTER_FEATURE = "advanced-remote-cluster-security"
MAX_EXPIRATION_DAYS = settings.MAX_DURATION_DAYS


def ensure_enabled() -> None:
    """FeatureDisabled unless API keys are switched on in Settings."""
    if not settings.api_keys_enabled():
        raise FeatureDisabled()


def require_cross_cluster_license() -> None:
    if not settings.cross_cluster_licensed():
        raise LicenseError(
            f"current license is non-compliant for [{CROSS_CLUSTER_FEATURE}]",
            extra={"license.expired.feature": CROSS_CLUSTER_FEATURE},
        )


def plausible_id(key_id: object) -> bool:
    """Ids are short printable strings; anything else can't name a key (and PostgreSQL rejects NUL)."""
    return (isinstance(key_id, str) and 0 < len(key_id) <= MAX_ID_LENGTH
            and all(32 < ord(c) < 127 for c in key_id))


def name_problems(name: object) -> list[str]:
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


def metadata_problems(metadata: object) -> list[str]:
    if metadata is None:
        return []
    if not isinstance(metadata, dict):
        return ["API key metadata must be an object"]
    if any(str(key).startswith("_") for key in metadata):
        return ["API key metadata keys may not start with [_]"]
    if (too_large := limits.metadata_size_problem(metadata, "API key metadata")):
        return [too_large]
    return []


def validate(name: object, metadata: object = None, *, check_name: bool = True) -> None:
    """ValidationFailed naming each problem of `name` (unless not `check_name`) and `metadata`."""
    problems = (name_problems(name) if check_name else []) + metadata_problems(metadata)
    if problems:
        fields = {}
        for problem in problems:
            fields.setdefault("metadata" if "metadata" in problem else "name", problem)
        raise ValidationFailed(problems, fields=fields)


def validate_metadata(metadata: object) -> None:
    validate(None, metadata, check_name=False)


def expiration_ms(expiration: str | None, now: int) -> int | None:
    """Absolute expiry in ms from an ES time value like `30d` (at most settings.MAX_DURATION_DAYS); None for no
    expiry."""
    if expiration is None:
        return None
    try:
        delta = settings.parse_duration_ms(expiration, "expiration")
    except settings.DurationTooLong as error:
        raise DomainError(str(error), type="illegal_argument_exception", field="expiration") from error
    except ValueError as error:
        raise DomainError(
            f"failed to parse setting [expiration] with value [{expiration}] as a time value: "
            "unit is missing or unrecognized", type="parse_exception", field="expiration") from error
    # Like ES, whole seconds of the duration are added to now.
    return now + (delta // 1000) * 1000


def descriptors(body: object) -> dict:
    """The role descriptors of a key request, parsed and checked as ES does for API keys."""
    if isinstance(body, (dict, list)) and (too_many := limits.role_descriptors_count_problem(len(body))):
        raise ValidationFailed([too_many], fields={"role_descriptors": too_many})
    try:
        return parse_role_descriptors(body or {}, for_api_key=True)
    except DescriptorError as error:
        raise from_descriptor_error(error, "role_descriptors") from error


def grants_nothing(parsed: dict) -> bool:
    """True when none of the parsed descriptors grants anything (what a derived key must ask for): no section
    that grants (`global` included, as Elasticsearch's RoleDescriptor.isEmpty counts it) holds anything."""
    return all(not any(d.get(section) for section in _GRANTING_SECTIONS) for d in parsed.values())


_GRANTING_SECTIONS = ("cluster", "global", "indices", "applications", "run_as", "remote_indices", "remote_cluster")


def owner_snapshot(subject: Subject) -> list[dict]:
    """The owner's current role descriptors, as stored in `limited_by` (descriptions stripped, like ES)."""
    snapshot = {
        name: {k: v for k, v in descriptor.items() if k != "description"}
        for name, descriptor in sorted(subject.role_descriptors.items())
    }
    return [snapshot]


def check_ids_count(ids: list | None) -> None:
    if ids and (too_many := limits.ids_count_problem(len(ids))):
        raise ValidationFailed([too_many], fields={"ids": too_many})


def selector_problems(*, by_id: bool, name: str | None, username: str | None, realm_name: str | None,
                      owner: bool, plural: bool) -> list[str]:
    """ES's messages for selectors that don't combine, in the Get (`plural` False: one id) and Invalidate
    (`plural`: ids) APIs' wording: id or name with a user or realm, owner with a user or realm, id with name."""
    ids, verb, doing = ("api key id(s)", "are", "invalidating") if plural else ("api key id", "is", "retrieving")
    problems = []
    if (by_id or name) and (username or realm_name):
        problems.append(f"username or realm name must not be specified when the {ids} or api key name {verb} "
                        "specified")
    if owner and (username or realm_name):
        problems.append(f"neither username nor realm-name may be specified when {doing} owned API keys")
    if by_id and name:
        problems.append(f"only one of [{ids}, api key name] can be specified")
    return problems
