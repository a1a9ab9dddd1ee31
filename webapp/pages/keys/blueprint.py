"""The keys pages' blueprint; the modules beside this one register their routes on it."""

from flask import Blueprint

bp = Blueprint("keys", __name__, url_prefix="/keys")
