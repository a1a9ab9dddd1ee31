"""A small runner for Elasticsearch's YAML REST tests, calling every API through the official Python client.

Each test of a vendored file (tests/es_rest/yaml/, see NOTICE.md there) runs as Elasticsearch's own runner runs
it: the file's `setup`, the test, the file's `teardown`, then the cluster is wiped (API keys, users and roles;
Elasticsearch deletes its security index after every test). Sections understood: `do` (with `catch`,
`headers`, `ignore`, `warnings`, `allowed_warnings`), `set`, `transform_and_set`, `match`, `length`,
`is_true`, `is_false`, `gt`, `gte`, `lt`, `lte`, `contains`, `skip` and `requires`; stashed values are
substituted as whole values (`$name`), inside strings (`${name}`), in keys and in paths.

What Keydesk can't run is listed once, in SKIPS below, each with its reason; nothing is skipped silently.
"""

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from elasticsearch import ApiError

from webapp.api.cluster import VERSION

YAML_DIR = Path(__file__).parent / "yaml"

# The test cluster's user (Elasticsearch's XPackRestIT signs every request in as it): a superuser.
REST_USER = ("x_pack_rest_user", "x-pack-test-password")

# Features of Elasticsearch's runner this one has; a `skip`/`requires` naming another skips the test.
FEATURES = {"headers", "transform_and_set", "catch_unauthorized", "warnings", "allowed_warnings", "contains",
            "stash_in_key", "stash_in_path", "stash_path_replace"}


@dataclass(frozen=True)
class Skip:
    """Keydesk lacks what the test needs: a difference, noted in README's "API compatibility"."""
    reason: str


@dataclass(frozen=True)
class Waits:
    """An API another change adds: tests calling it are skipped while the server answers "no handler"
    (probed once per run at `probe`), and run for real once it exists. `setup_step` says why the call may be
    left out of a `setup` section meanwhile (None: the whole test waits)."""
    endpoint: str
    probe: tuple[str, str, dict | None]
    setup_step: str | None = None


@dataclass(frozen=True)
class Omit:
    """A step left out of one file's setup/teardown, because only tests skipped above need what it makes."""
    reason: str


NO_INDICES = "Keydesk has no indices or documents"

# What is skipped, and why. Keys: "dir/file.yml" (every test of the file), "dir/file.yml::test name" (one test),
# "api:<api name>" (every test that calls it), "dir/file.yml::<section>::<api name>" (one step left out).
SKIPS = {
    # ---- APIs Keydesk doesn't have
    "api:security.get_token": Skip("Keydesk has no token service (POST /_security/oauth2/token)"),
    "api:index": Skip(NO_INDICES),
    "api:get": Skip(NO_INDICES),
    "api:delete": Skip(NO_INDICES),
    # ---- APIs that are being added elsewhere: re-run once they answer
    "api:cluster.health": Waits(
        "GET /_cluster/health", ("GET", "/_cluster/health", None),
        setup_step="`cluster.health: {wait_for_status: yellow}` in a setup only waits for the cluster to be "
                   "ready; the runner's server fixture already waited for /healthz"),
    "api:security.clear_api_key_cache": Waits(
        "POST /_security/api_key/{ids}/_clear_cache", ("POST", "/_security/api_key/keydesk-probe/_clear_cache", None)),
    "api:security.get_user_privileges": Waits(
        "GET /_security/user/_privileges", ("GET", "/_security/user/_privileges", None)),
    "api:security.bulk_put_role": Waits("POST /_security/role", ("POST", "/_security/role", {})),
    "api:security.bulk_delete_role": Waits("DELETE /_security/role", ("DELETE", "/_security/role", {})),
    # ---- single tests and files
    "api_key/11_invalidation.yml::Test invalidate api key by realm name": Skip(
        "Keydesk's realm of native users is named `native`; Elasticsearch's default one is `default_native`"),
    "api_key/21_query_with_aggs.yml": Skip("Keydesk refuses `composite` aggregations in the Query API"),
    "api_key/50_cross_cluster.yml::Test create a cross-cluster API key": Skip(
        "this stored version creates `search` access with DLS/FLS next to `replication`, which Elasticsearch "
        "refuses since 8.14 (CrossClusterApiKeyRoleDescriptorBuilder: \"search does not support document or field "
        "level security if replication is assigned\") and so does Keydesk"),
    "api_key/10_grant.yml::Test grant api key forbidden": Skip(
        "this stored version expects the 403 wording of Elasticsearch before 8.x (\"with roles [...]\"); "
        "Elasticsearch now says \"with effective roles [...]\" (api_key/12_grant.yml), and so does Keydesk"),
    "users/10_basic.yml::Test put user with password hash": Skip(
        "reads the user's hash from the .security index (no indices) and sets it with `password_hash`, "
        "which Keydesk refuses"),
}


class Failure(AssertionError):
    pass


# ---- loading ------------------------------------------------------------------------------------------

def load(relative):
    """(setup steps, teardown steps, {test name: steps}) of one vendored file."""
    setup, teardown, tests = [], [], {}
    for document in yaml.safe_load_all((YAML_DIR / relative).read_text(encoding="utf-8")):
        for name, steps in (document or {}).items():
            if name == "setup":
                setup = steps or []
            elif name == "teardown":
                teardown = steps or []
            else:
                tests[name] = steps or []
    return setup, teardown, tests


def cases():
    """Every (file, test name) of the vendored files, in order."""
    found = []
    for path in sorted(YAML_DIR.rglob("*.yml")):
        relative = path.relative_to(YAML_DIR).as_posix()
        found += [(relative, name) for name in load(relative)[2]]
    return found


def api_calls(steps):
    """The API names the `do` steps call."""
    return [api for step in steps if "do" in step for api in _api_of(step["do"])[:1]]


def _api_of(do):
    return [key for key in do if key not in ("catch", "headers", "warnings", "allowed_warnings",
                                             "warnings_regex", "allowed_warnings_regex", "node_selector")]


# ---- the stash ----------------------------------------------------------------------------------------

EXTENDED_KEY = re.compile(r"\$\{([^}]+)\}")


class Stash(dict):
    def value(self, key):
        if key not in self:
            raise Failure(f"nothing stashed as [{key}]")
        return self[key]

    def replace(self, value):
        """`value` with every stashed reference replaced (recursively through lists and maps, keys too)."""
        if isinstance(value, str):
            if value.startswith("$") and not value.startswith("${"):
                return self.value(value[1:])
            if EXTENDED_KEY.search(value):
                return EXTENDED_KEY.sub(lambda m: str(_scalar_text(self.value(m.group(1)))), value)
            return value
        if isinstance(value, list):
            return [self.replace(item) for item in value]
        if isinstance(value, dict):
            return {self.replace(k): self.replace(v) for k, v in value.items()}
        return value


def _scalar_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


# ---- paths and comparisons ----------------------------------------------------------------------------

def split_path(path):
    """Elasticsearch's object path: dots separate parts, `\\.` is a dot inside a part."""
    return [part.replace("\0", ".") for part in path.replace("\\.", "\0").split(".")]


def evaluate(body, path, stash):
    if path in ("", "$body"):
        return body
    current = body
    for part in split_path(path):
        part = stash.replace(part) if "$" in part else part
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list):
            try:
                current = current[int(part)]
            except (ValueError, IndexError):
                return None
        else:
            return None
        if current is None:
            return None
    return current


def same(expected, actual):
    """Equality as Elasticsearch's `match` sees it: booleans are not numbers, 42 equals 42.0."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and all(
            same(value, actual[key]) for key, value in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            same(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return expected == actual


def _contains(expected, item):
    if isinstance(expected, dict):
        return isinstance(item, dict) and all(key in item and same(value, item[key]) for key, value in expected.items())
    return same(expected, item)


def truthy(value):
    """Elasticsearch's is_true: not null, not false, not "", not "false", not "0"."""
    return not (value is None or value is False or value == "" or value == "false" or value == "0"
                or (not isinstance(value, bool) and value == 0))


def _java_text(value):
    """An answer's text as the regexes of `match`/`catch` see it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


CATCHES = {"bad_request": {400}, "unauthorized": {401}, "forbidden": {403}, "missing": {404},
           "request_timeout": {408}, "conflict": {409}, "unavailable": {503}}


def _catch_matches(catch, status, body):
    if catch in CATCHES:
        return status in CATCHES[catch]
    if catch == "request":  # any other error status
        return status >= 400 and status not in {400, 401, 403, 404, 408, 409}
    if len(catch) > 2 and catch.startswith("/") and catch.endswith("/"):
        error = body.get("error") if isinstance(body, dict) else None
        return status >= 400 and error is not None and re.search(catch[1:-1], _java_text(error)) is not None
    raise Failure(f"unknown catch [{catch}]")


# ---- skipping -----------------------------------------------------------------------------------------

def _missing_features(spec, key):
    features = spec.get(key, [])
    features = [features] if isinstance(features, str) else features
    missing = [feature for feature in features if feature not in FEATURES]
    return f"the runner lacks the YAML feature(s) {missing}" if missing else None


def _skip_section_reason(step):
    """Why a `skip`/`requires` step skips (None: it doesn't)."""
    if "skip" in step:
        spec = step["skip"] or {}
        missing = _missing_features(spec, "features")
        if missing:
            return missing
        if spec.get("version") in ("all", " all") or spec.get("awaits_fix"):
            return spec.get("reason") or "skipped by the test itself"
    if "requires" in step:
        spec = step["requires"] or {}
        missing = _missing_features(spec, "test_runner_features")
        if missing:
            return missing
        features = spec.get("cluster_features") or []
        features = [features] if isinstance(features, str) else features
        unreported = [feature for feature in features if not _version_feature_holds(feature)]
        if unreported:
            return f"requires cluster features {unreported} that Keydesk doesn't report"
    return None


def _version_feature_holds(feature):
    """`gte_vX.Y.Z`, the feature every cluster of version X.Y.Z or later reports: it holds when the Elasticsearch
    version Keydesk follows (what `GET /` reports) is at least that one."""
    found = re.fullmatch(r"gte_v(\d+)\.(\d+)\.(\d+)", str(feature))
    if not found:
        return False
    followed = tuple(int(part) for part in VERSION["number"].split("."))
    return tuple(int(part) for part in found.groups()) <= followed


def skip_reason(relative, name, missing_endpoints):
    """Why (file, test) is skipped, from SKIPS and the test's own `skip`/`requires`; None when it runs."""
    for key in (relative, f"{relative}::{name}"):
        if isinstance(SKIPS.get(key), Skip):
            return SKIPS[key].reason
    setup, teardown, tests = load(relative)
    for section, steps in (("setup", setup), ("test", tests[name]), ("teardown", teardown)):
        for step in steps:
            reason = _skip_section_reason(step)
            if reason:
                return reason
        for api in api_calls(steps):
            entry = SKIPS.get(f"api:{api}")
            if omitted(relative, section, api, missing_endpoints):
                continue
            if isinstance(entry, Skip):
                return entry.reason
            if isinstance(entry, Waits) and entry.endpoint in missing_endpoints:
                return f"waits for {entry.endpoint}"
    return None


def omitted(relative, section, api, missing_endpoints):
    """The reason a step calling `api` is left out of `section` of this file, or None."""
    entry = SKIPS.get(f"{relative}::{section}::{api}")
    if isinstance(entry, Omit):
        return entry.reason
    waits = SKIPS.get(f"api:{api}")
    if section == "setup" and isinstance(waits, Waits) and waits.setup_step and waits.endpoint in missing_endpoints:
        return f"waits for {waits.endpoint}: {waits.setup_step}"
    return None


def missing_endpoints(client):
    """The awaited endpoints the server doesn't serve yet: it answers them "no handler found", 404 or 405."""
    missing = set()
    for entry in SKIPS.values():
        if not isinstance(entry, Waits):
            continue
        method, path, body = entry.probe
        try:
            client.perform_request(method, path, body=body,
                                   headers={"accept": "application/json", "content-type": "application/json"})
        except ApiError as error:
            status, body = error.meta.status, error.body
            unrouted = status == 405 or (status == 404 and not isinstance(body, dict))
            if unrouted or (status == 400 and "no handler found" in json.dumps(body)):
                missing.add(entry.endpoint)
    return missing


# ---- running ------------------------------------------------------------------------------------------

class Runner:
    """Runs tests against one server: `client` is the official client signed in as REST_USER."""

    def __init__(self, client, missing, wipe):
        self.client = client
        self.missing = missing
        self.wipe = wipe
        self.omitted_steps = []  # (file, section, api, reason) of every step left out, for the summary

    def run(self, relative, name):
        setup, teardown, tests = load(relative)
        stash = Stash()
        try:
            self._steps(relative, "setup", setup, stash)
            self._steps(relative, "test", tests[name], stash)
        finally:
            try:
                self._steps(relative, "teardown", teardown, Stash())
            finally:
                self.wipe()

    def _steps(self, relative, section, steps, stash):
        for number, step in enumerate(steps, 1):
            ((kind, spec),) = step.items()
            try:
                if kind in ("skip", "requires"):
                    continue
                if kind == "do":
                    api = _api_of(spec)[0]
                    reason = omitted(relative, section, api, self.missing)
                    if reason:
                        self.omitted_steps.append((relative, section, api, reason))
                        continue
                    self._do(spec, stash)
                else:
                    getattr(self, "_" + kind)(spec, stash)
            except Failure as failure:
                raise Failure(f"{section} step {number} ({kind} {_short(spec)}): {failure}") from None

    # -- do

    def _do(self, spec, stash):
        spec = dict(spec)
        catch = spec.pop("catch", None)
        headers = stash.replace(spec.pop("headers", None) or {})
        expected_warnings = spec.pop("warnings", None) or []
        allowed_warnings = spec.pop("allowed_warnings", None) or []
        for unused in ("warnings_regex", "allowed_warnings_regex", "node_selector"):
            spec.pop(unused, None)
        ((api, arguments),) = spec.items()
        arguments = dict(arguments or {})
        ignore = arguments.pop("ignore", None)
        arguments = stash.replace(arguments)
        if isinstance(arguments.get("body"), str):
            arguments["body"] = stash.replace(json.loads(arguments["body"]))
        # A null argument is one not given (`username: null`): the client's parameters all default to None, and
        # an API whose specification has no such parameter (get_user_privileges) takes none.
        arguments = {("from_" if key == "from" else "global_" if key == "global" else key): value
                     for key, value in arguments.items() if value is not None}
        client = self.client
        if headers:
            client = client.options(headers={key: str(value) for key, value in headers.items()})
        if ignore is not None:
            client = client.options(ignore_status=ignore if isinstance(ignore, list) else [ignore])
        target = client
        for part in api.split("."):
            target = getattr(target, part, None)
            if target is None:
                raise Failure(f"the Python client has no API [{api}]")
        try:
            response = target(**arguments)
            status, body, response_headers = response.meta.status, response.body, response.meta.headers
        except ApiError as error:
            status, body, response_headers = error.meta.status, error.body, error.meta.headers
        stash["$body"] = body
        self.last = body
        if catch is not None:
            if not _catch_matches(catch, status, body):
                raise Failure(f"expected [{catch}], got status {status}: {_short(body)}")
        elif status >= 400 and not (ignore is not None and status in (ignore if isinstance(ignore, list)
                                                                       else [ignore])):
            raise Failure(f"status {status}: {_short(body)}")
        warnings = [w for w in response_headers.get("warning", "").split(", ") if w] if response_headers else []
        for expected in expected_warnings:
            if not any(expected in warning for warning in warnings):
                raise Failure(f"expected warning [{expected}], got {warnings}")
        unexpected = [w for w in warnings if not any(e in w for e in expected_warnings + allowed_warnings)]
        if unexpected:
            raise Failure(f"unexpected warnings {unexpected}")

    # -- assertions and stashing

    def _value(self, path, stash):
        return evaluate(self.last, path, stash)

    def _set(self, spec, stash):
        for path, name in spec.items():
            stash[name] = self._value(path, stash)

    def _transform_and_set(self, spec, stash):
        for name, transform in spec.items():
            found = re.fullmatch(r"#base64EncodeCredentials\((\w+),(\w+)\)", transform)
            if not found:
                raise Failure(f"unknown transform [{transform}]")
            first, second = (self._value(path, stash) for path in found.groups())
            stash[name] = base64.b64encode(f"{first}:{second}".encode()).decode()

    def _match(self, spec, stash):
        for path, expected in spec.items():
            actual = self._value(stash.replace(path), stash)
            expected = stash.replace(expected)
            if isinstance(expected, str) and len(expected) > 2 and expected.startswith("/") and expected.endswith("/"):
                if actual is None or not re.search(expected[1:-1], _java_text(actual), re.VERBOSE):
                    raise Failure(f"[{path}] is {_short(actual)}, not matching {expected}")
            elif not same(expected, actual):
                raise Failure(f"[{path}] is {_short(actual)}, expected {_short(expected)}")

    def _length(self, spec, stash):
        for path, expected in spec.items():
            actual = self._value(path, stash)
            expected = stash.replace(expected)
            if not isinstance(actual, list | dict | str) or len(actual) != int(expected):
                raise Failure(f"[{path}] is {_short(actual)}, expected length {expected}")

    def _is_true(self, path, stash):
        actual = self._value(path, stash)
        if not truthy(actual):
            raise Failure(f"[{path}] is {_short(actual)}, expected a true value")

    def _is_false(self, path, stash):
        actual = self._value(path, stash)
        if truthy(actual):
            raise Failure(f"[{path}] is {_short(actual)}, expected a false value (or none)")

    def _compare(self, spec, stash, test, words):
        for path, expected in spec.items():
            actual = self._value(path, stash)
            expected = stash.replace(expected)
            if not isinstance(actual, int | float) or isinstance(actual, bool) or not test(actual, float(expected)):
                raise Failure(f"[{path}] is {_short(actual)}, expected {words} {expected}")

    def _gt(self, spec, stash):
        self._compare(spec, stash, lambda a, e: a > e, "more than")

    def _gte(self, spec, stash):
        self._compare(spec, stash, lambda a, e: a >= e, "at least")

    def _lt(self, spec, stash):
        self._compare(spec, stash, lambda a, e: a < e, "less than")

    def _lte(self, spec, stash):
        self._compare(spec, stash, lambda a, e: a <= e, "at most")

    def _contains(self, spec, stash):
        for path, expected in spec.items():
            actual = self._value(path, stash)
            expected = stash.replace(expected)
            if not isinstance(actual, list) or not any(_contains(expected, item) for item in actual):
                raise Failure(f"[{path}] is {_short(actual)}, expected it to contain {_short(expected)}")


def _short(value, limit=600):
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."
