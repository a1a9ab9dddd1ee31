"""Creating a key: the form (dialog or page) and the show-once credential panel."""

from flask import make_response, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from webapp.errors import DomainError, FeatureDisabled
from webapp.pages.keys import bp
from webapp.pages.keys.forms import create_defaults, field_errors, form_values, parse_create
from webapp.pages.keys.listing import key_table_context, list_values
from webapp.security import privileges
from webapp.services.api_keys import commands as api_keys
from webapp.services.api_keys.details import rights_of
from webapp.web.errors import wants_partial
from webapp.web.guard import current_subject, requires


def authenticate_url():
    """Where a new key can be tried: the _authenticate endpoint of the JSON API."""
    try:
        return url_for("api.authenticate", _external=True)
    except BuildError:
        return request.url_root.rstrip("/") + "/_security/_authenticate"


def _form_page(form, errors, status):
    rights = rights_of(current_subject())
    context = {"form": form, "form_errors": errors, "rights": rights}
    if wants_partial():
        return render_template("keys/_create_form.html", **context), status
    return render_template("keys/create.html", **context), status


@bp.get("/new")
@requires(*privileges.MANAGE_OWN_KEYS)
def new():
    """The create form: a page (keys/create.html), or to htmx the form (keys/_create_form.html → #create-key-form)."""
    return _form_page(create_defaults(current_subject()), {}, 200)


def _create(subject, request_body):
    if request_body["kind"] == "cross_cluster":
        return api_keys.create_cross_cluster_api_key(
            subject, name=request_body["name"], access=request_body["access"],
            expiration=request_body["expiration"], metadata=request_body["metadata"])
    return api_keys.create_api_key(subject, name=request_body["name"],
                                   role_descriptors=request_body["role_descriptors"],
                                   expiration=request_body["expiration"], metadata=request_body["metadata"])


@bp.post("/new")
@requires(*privileges.MANAGE_OWN_KEYS)
def create():
    """Create a key. To htmx: the credential panel (keys/_created.html, retargeted to #created-key) with the
    table, the filters and a fresh form out of band; 422 re-renders the form (→ #create-key-form).
    Without htmx: the keys page with the panel. Both are sent with Cache-Control: no-store."""
    subject = current_subject()
    values = form_values(request.form)
    request_body, errors = parse_create(values, rights_of(subject))
    created = None
    if not errors:
        try:
            created = _create(subject, request_body)
        except FeatureDisabled:
            raise
        except DomainError as error:
            errors = field_errors(error)
    if errors:
        return _form_page(values, errors, 422)
    context = key_table_context(list_values(MultiDict()), created_id=created.id)
    context.update(created=created, authenticate_url=authenticate_url(), form=create_defaults(subject),
                   form_errors={})
    if wants_partial():
        body = render_template("keys/_create_success.html", **context)
        response = make_response(body, 200)
        response.headers.update({"HX-Retarget": "#created-key", "HX-Reswap": "outerHTML",
                                 "HX-Trigger": "api-key-created", "HX-Push-Url": url_for("keys.index")})
    else:
        response = make_response(render_template("keys/index.html", **context), 201)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
