"""Links every page builds: a URL with only the parameters that have a value (filters, paging)."""

from flask import url_for


def page_url(endpoint: str, **params) -> str:
    """url_for with the non-empty parameters only."""
    return url_for(endpoint, **{k: v for k, v in params.items() if v not in ("", None)})


def init_app(bp) -> None:
    """Register the link helpers as template globals (through any blueprint: they serve every page)."""
    bp.add_app_template_global(page_url)
