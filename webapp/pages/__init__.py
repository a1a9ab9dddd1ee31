"""The HTML pages, one blueprint per area. The rule for their shape: an area is one module while it stays under
about 250 lines; past that it becomes a package with one module per concern (keys/: listing, create, details,
delete, forms, format). Every view parses the request, makes one service call and renders through web.htmx."""
