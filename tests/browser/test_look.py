"""How every page looks, in Chromium: layout at three widths, axe-core in the light and the dark theme.

One sign-in per page state; the viewport and colour scheme then change in the same page. Every failure of
the state is collected and reported together, each line naming the width, the theme and the check.
"""

import re

import pytest

from tests.browser import look
from tests.browser.states import STATES, seed_demo, sign_in
from webapp.model.db import database

WIDTHS = ((1440, 900), (1024, 768), (390, 844))
AXE_WIDTHS = (1440, 390)
THEMES = ("light", "dark")


@pytest.fixture(params=STATES, ids=str)
def state(request, app):
    state = request.param
    if state.data == "demo":
        with database.connection_context():
            seed_demo()
    return state


def test_page_state_looks_right(page, state):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.emulate_media(color_scheme="light", reduced_motion="reduce")
    if state.signed_in:
        sign_in(page)
    state.enter(page)

    failures = []
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        page.emulate_media(color_scheme="light")
        look.settle(page)
        failures += [f"[{state} {width}px light] layout: {problem}" for problem in look.layout_problems(page)]
        if width not in AXE_WIDTHS:
            continue
        for theme in THEMES:
            page.emulate_media(color_scheme=theme)
            look.settle(page)
            failures += [f"[{state} {width}px {theme}] {problem}" for problem in look.accessibility_problems(page)]
    assert not failures, f"{len(failures)} problem(s) with {state}:\n" + "\n".join(failures)


def test_the_checks_see_a_broken_layout(page, live_server):
    """The layout check is no rubber stamp: a page that is fine passes, and one built to break each rule
    fails with each of them."""
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/login")
    assert look.layout_problems(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("""() => {
      const main = document.querySelector('main');
      const wide = document.createElement('div');
      wide.id = 'too-wide';
      wide.style.width = '900px';
      wide.textContent = 'wide';
      const label = document.createElement('label');
      label.id = 'squeezed';
      label.style.display = 'block';
      label.style.width = '8px';
      label.textContent = 'Owner';
      const search = document.createElement('input');
      search.type = 'search';
      search.style.width = '60px';
      const dialog = document.createElement('dialog');
      dialog.setAttribute('aria-label', 'Oversized');
      dialog.style.width = '2000px';
      dialog.style.maxWidth = 'none';
      const scroller = document.createElement('div');
      scroller.style.overflowX = 'auto';
      const table = document.createElement('table');
      table.setAttribute('aria-label', 'Too many columns');
      table.style.width = '900px';
      table.insertRow().insertCell().textContent = 'cell';
      scroller.append(table);
      const narrow = document.createElement('p');
      narrow.id = 'narrow';
      narrow.style.width = '3ch';
      narrow.style.overflowWrap = 'anywhere';
      narrow.textContent = 'reserved';
      const cards = document.createElement('table');
      const cell = cards.insertRow().insertCell();
      cell.id = 'spilling';
      cell.style.cssText = 'position: relative; display: block; height: 20px; padding: 0';
      const tall = document.createElement('span');
      tall.style.cssText = 'position: absolute; top: 0; left: 0; height: 60px';
      tall.textContent = 'Cross-cluster API keys';
      cell.append(tall);
      main.append(wide, label, search, scroller, narrow, cards, dialog);
      dialog.show();
    }""")
    problems = "\n".join(look.layout_problems(page))
    assert "the page scrolls sideways" in problems and "div#too-wide" in problems
    assert 'label wraps into a column' in problems and 'label#squeezed' in problems
    assert re.search(r"search box is 6\dpx wide at a 390px viewport", problems)
    assert "dialog 'Oversized' does not fit the 390x844 viewport" in problems
    assert "table 'Too many columns' is wider than the box around it or the 390px viewport" in problems
    assert re.search(r"content spills 4\dpx out of the bottom of its cell: <td#spilling>", problems)
    assert "words broken mid-word over two lines" in problems and "'reserved' in <p#narrow>" in problems


def test_the_checks_see_an_accessibility_violation(page, live_server):
    """axe runs despite the page's strict CSP, and a serious violation comes back with its rule and element."""
    response = page.goto("/login")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    page.evaluate("""() => {
      const image = document.createElement('img');
      image.id = 'unlabelled-image';
      image.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
      document.querySelector('main').append(image);
    }""")
    problems = "\n".join(look.accessibility_problems(page))
    assert "axe image-alt (critical)" in problems and "#unlabelled-image" in problems
