"""The fields of the user and role Query APIs (`/_security/_query/user`, `/_security/_query/role`), as
FieldSets the shared DSL, simple_query_string and sorting read (the API key ones are fields.API_KEYS).

Elasticsearch's field names and rules (FieldNameTranslators in Elasticsearch 8.15):
- users: `username`, `roles` (many values: a user's role links), `enabled`, `full_name` and `email` (these
  two can't be sorted on); `ids` matches usernames;
- roles: `name`, `description`, `applications.application`, `applications.resources`,
  `applications.privileges` and `metadata`/`metadata.<path>` (flattened), all read from the stored
  descriptor; `ids` matches role names.

Values kept in JSON (a role's descriptor) are listed by a subquery as the metadata leaves are (fields.leaves),
so every query and sort on them is SQL on both databases.
"""

from webapp.model import Role, User, UserRole
from webapp.model.db import is_sqlite
from webapp.services.api_keys.es_query.fields import BOOLEAN, FLATTENED, KEYWORD, Field, FieldSet

_SQLITE_VALUE = "CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS TEXT) END"
_SQLITE_WHERE = "j.type NOT IN ('object', 'array', 'null')"
_PG_VALUE = "(j.value #>> '{}')"
_PG_WHERE = "jsonb_typeof(j.value) NOT IN ('object', 'array', 'null')"


def _sqlite_path(keys):
    return "$" + "".join('."' + key.replace('"', '""') + '"' for key in keys)


def _user_roles(field):
    """leaves() of a user's roles: their role links (`{col}` is the user's id)."""
    table, name, user = UserRole._meta.table_name, UserRole.role_name.column_name, UserRole.user.column_name
    return f'"{table}" AS j', f'j."{name}"', f'j."{user}" = {{col}}', [], []


def _json_steps(*keys):
    """leaves() of the values at `keys` in a role's descriptor, each step also stepping into arrays (so
    `applications`, `resources` lists the resources of every application entry)."""
    def leaves(field):
        if is_sqlite():
            sources, previous = [], "{col}"
            for number, _ in enumerate(keys):
                alias = "j" if number == len(keys) - 1 else f"s{number}"
                if number:  # a string inside the array is no JSON document to step into
                    previous = f"CASE WHEN {previous}.type IN ('object', 'array') THEN {previous}.value ELSE '{{}}' END"
                sources.append(f"json_each({previous}, ?) AS {alias}")
                previous = alias
            return ", ".join(sources), _SQLITE_VALUE, _SQLITE_WHERE, [_sqlite_path([key]) for key in keys], []
        path = "lax $" + "".join(f'."{key}"[*]' for key in keys)
        return ("jsonb_path_query(CAST({col} AS jsonb), CAST(? AS jsonpath)) AS j(value)", _PG_VALUE, _PG_WHERE,
                [path], [])
    return leaves


def _role_metadata(field):
    """leaves() of a role's metadata (the descriptor's `metadata` object), as fields.leaves lists a key's."""
    full = ("metadata", *field.path)
    if is_sqlite():
        if not field.path:
            return "json_tree({col}, ?) AS j", _SQLITE_VALUE, _SQLITE_WHERE, [_sqlite_path(full)], []
        # A path naming an object has no value of its own (its leaves have longer paths).
        where = _SQLITE_WHERE + " AND COALESCE(json_type({col}, ?), '') <> 'object'"
        return "json_each({col}, ?) AS j", _SQLITE_VALUE, where, [_sqlite_path(full)], [_sqlite_path(full)]
    at = "(CAST({col} AS jsonb) #> CAST(? AS text[]))"
    if not field.path:
        return f"jsonb_path_query({at}, 'strict $.**') AS j(value)", _PG_VALUE, _PG_WHERE, [list(full)], []
    source = (f"jsonb_array_elements(CASE jsonb_typeof({at}) WHEN 'array' THEN {at} WHEN 'object' THEN "
              f"CAST('[]' AS jsonb) ELSE jsonb_build_array({at}) END) AS j(value)")
    return source, _PG_VALUE, _PG_WHERE, [list(full)] * 3, []


USERS = FieldSet(
    {"username": (KEYWORD, User.username, False), "enabled": (BOOLEAN, User.enabled, False),
     "full_name": (KEYWORD, User.full_name, True), "email": (KEYWORD, User.email, True)},
    extra={"roles": Field("roles", FLATTENED, None, True, document=User.id, source=_user_roles)},
    unsortable=("full_name", "email"), id_column=User.username,
    pattern_names=("username", "roles", "enabled", "full_name", "email"))


def _role_field(name, *keys):
    return Field(name, FLATTENED, None, True, document=Role.descriptor, source=_json_steps(*keys))


ROLES = FieldSet(
    {"name": (KEYWORD, Role.name, False)},
    extra={"description": _role_field("description", "description"),
           "applications.application": _role_field("applications.application", "applications", "application"),
           "applications.resources": _role_field("applications.resources", "applications", "resources"),
           "applications.privileges": _role_field("applications.privileges", "applications", "privileges")},
    metadata=(Role.descriptor, _role_metadata), sort_whole_metadata=True, id_column=Role.name,
    pattern_names=("name", "description", "metadata", "applications.application", "applications.resources",
                   "applications.privileges"))
