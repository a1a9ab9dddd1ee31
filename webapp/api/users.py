"""User endpoints: create or update, get, delete, change password, enable and disable (services.users)."""

from webapp.api.blueprint import bp
from webapp.api.named import delete_by_name, get_by_names
from webapp.api.negotiation import answer
from webapp.api.parsing import bad_request, check_params, json_body, refresh_param
from webapp.errors import ValidationFailed
from webapp.security.descriptors.fields import token
from webapp.services.admin import users
from webapp.web.guard import current_subject, requires

# PUT /_security/user/{name}: field -> the JSON types it takes (None stands for null).
USER_FIELDS = {"password": (str,), "password_hash": (str,), "roles": (list, str), "full_name": (str, None),
               "email": (str, None), "metadata": (dict,), "enabled": (bool,), "username": (str,)}
_KIND = {str: "string", dict: "object", bool: "boolean", list: "array"}


def _parse_error(reason):
    return bad_request(reason, type="parse_exception")


def _user_fields(username, body):
    """The fields of a put-user body, checked as Elasticsearch's put-user parser checks them."""
    if not isinstance(body, dict):
        raise _parse_error(f"Expected a [START_OBJECT] but found [{token(body)}]")
    fields = {}
    for name, value in body.items():
        accepted = USER_FIELDS.get(name)
        if accepted is None:
            raise _parse_error(f"failed to parse add user request. unexpected field [{name}]")
        if not any(value is None if kind is None else isinstance(value, kind) and not (
                kind is not bool and isinstance(value, bool)) for kind in accepted):
            expected = _KIND[accepted[0]]
            if name == "roles":
                raise _parse_error(f"could not parse [roles] field. expected a string array but found "
                                   f"[{token(value)}] value instead")
            raise _parse_error(f"expected field [{name}] to be of type {expected}, but found [{token(value)}] "
                               "instead")
        fields[name] = value
    if "roles" in fields:
        roles = fields["roles"]
        if isinstance(roles, str):
            roles = [part for part in roles.split(",") if part]
        if any(not isinstance(role, str) for role in roles):
            raise _parse_error("could not parse [roles] field. expected a string array but one of the value in "
                               "the array is [" + token(next(r for r in roles if not isinstance(r, str))) + "]")
        fields["roles"] = roles
    if "username" in fields and fields.pop("username") != username:
        raise bad_request(f"[username] in source does not match the username provided [{username}]")
    if "password_hash" in fields:
        raise bad_request("[password_hash] is not supported by Keydesk: send [password] and Keydesk hashes it")
    return fields


@bp.route("/_security/user/<username>", methods=["PUT", "POST"])
@requires()
def put_user(username):
    """200 with {created: true|false}."""
    check_params("refresh")
    refresh_param()
    fields = _user_fields(username, json_body(required=True))
    # The API does what Elasticsearch does; the confirmation step is the browser pages' safety net.
    created = users.put_user(current_subject(), username, confirmed=True, **fields)
    return answer({"created": created})


@bp.get("/_security/user")
@bp.get("/_security/user/<names>")
@requires()
def get_users(names=None):
    """200 with {username: user}; 404 with {} when users were named and none exists."""
    return get_by_names(users.get_users, names, "with_profile_uid")


@bp.delete("/_security/user/<username>")
@requires()
def delete_user(username):
    """200 with {found: true}, or 404 with {found: false}."""
    return delete_by_name(users.delete_user, username)


@bp.route("/_security/user/_password", methods=["PUT", "POST"])
@bp.route("/_security/user/<username>/_password", methods=["PUT", "POST"])
@requires()
def change_password(username=None):
    """200 with {}: the user's password is changed (their own without a username)."""
    check_params("refresh")
    refresh_param()
    body = json_body(required=True)
    if not isinstance(body, dict):
        raise _parse_error(f"Expected a [START_OBJECT] but found [{token(body)}]")
    for name, value in body.items():
        if name == "password_hash":
            raise bad_request("[password_hash] is not supported by Keydesk: send [password] and Keydesk hashes it")
        if name != "password":
            raise _parse_error(f"failed to parse change password request. unexpected field [{name}]")
        if not isinstance(value, str):
            raise _parse_error(f"expected field [password] to be of type string, but found [{token(value)}] instead")
    if "password" not in body:
        raise ValidationFailed(["password must be specified"])
    subject = current_subject()
    users.set_password(subject, username or subject.username, body["password"],
                       realm=None if username else subject.realm)
    return answer({})


@bp.route("/_security/user/<username>/_enable", methods=["PUT", "POST"])
@requires()
def enable_user(username):
    """200 with {}: the user may sign in again."""
    return _set_enabled(username, True)


@bp.route("/_security/user/<username>/_disable", methods=["PUT", "POST"])
@requires()
def disable_user(username):
    """200 with {}: the user's sessions, cached credentials and API keys stop working."""
    return _set_enabled(username, False)


def _set_enabled(username, enabled):
    check_params("refresh")
    refresh_param()
    users.set_enabled(current_subject(), username, enabled)
    return answer({})
