"""Creating a key: the form (dialog or page) and the show-once credential panel."""

from flask import request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from webapp.errors import DomainError, FeatureDisabled
from webapp.pages.keys.blueprint import bp
from webapp.pages.keys.forms import create_defaults, form_errors, form_values, parse_create
from webapp.pages.keys.listing import list_values, page_context
from webapp.security import privileges
from webapp.services.api_keys import page as key_pages
from webapp.services.api_keys.details import own_descriptors, rights_of
from webapp.web.guard import current_subject, requires
from webapp.web.htmx import render, wants_partial


def authenticate_url():
    """Where a new key can be tried: the _authenticate endpoint of the JSON API."""
    try:
        return url_for("api.authenticate", _external=True)
    except BuildError:
        return request.url_root.rstrip("/") + "/_security/_authenticate"


def _form_page(form, errors, status):
    return render("keys/create.html", "keys/_create_form.html", status, form=form, form_errors=errors,
                  rights=rights_of(current_subject()))


@bp.get("/new")
@requires(*privileges.MANAGE_OWN_KEYS)
def new():
    """The create form: a page (keys/create.html), or to htmx the form (keys/_create_form.html → #create-key-form)."""
    return _form_page(create_defaults(own_descriptors(current_subject())), {}, 200)


@bp.post("/new")
@requires(*privileges.MANAGE_OWN_KEYS)
def create():
    """Create a key. To htmx: the credential panel (keys/_created.html, retargeted to #created-key) with the
    table, the filters and a fresh form out of band; 422 re-renders the form (→ #create-key-form).
    Without htmx: the keys page with the panel. Both are sent with Cache-Control: no-store."""
    values = form_values(request.form)
    request_body, errors = parse_create(values)
    if errors:
        return _form_page(values, errors, 422)
    try:
        done = key_pages.create_key(current_subject(), request_body, list_values(MultiDict()))
    except FeatureDisabled:
        raise
    except DomainError as error:
        return _form_page(values, form_errors(error), 422)
    context = page_context(done.listing, created=done.created, authenticate_url=authenticate_url())
    if wants_partial():
        return render("keys/index.html", "keys/_create_success.html", retarget="#created-key", reswap="outerHTML",
                      trigger="api-key-created", push_url=url_for("keys.index"), no_store=True, **context)
    return render("keys/index.html", "keys/_create_success.html", 201, no_store=True, **context)
