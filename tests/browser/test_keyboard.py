"""Keyboard only in Chromium: create a key, copy it, delete two keys, edit a role; and how the keys page's dialogs
behave: focus moves in on open, Escape and Cancel close and give the focus back, the actions sit in one row at the
bottom with the primary action last."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from webapp.model import ApiKey, User
from webapp.model.db import database
from webapp.services.access.authentication import subject_for_user
from webapp.services.access.system import system_subject
from webapp.services.admin import roles
from webapp.services.api_keys import commands as api_keys

KEY_NAMES = ("alpha-key", "beta-key", "gamma-key")
SAME_LINE = 2  # px of tolerance when comparing edges of boxes

# Focus is "inside" a dialog when the dialog or one of its descendants has it.
FOCUS_INSIDE = "dialog => dialog.contains(document.activeElement)"
# The lowest bottom edge of the dialog's visible content outside its action row (and not around it).
CONTENT_BOTTOM = """([dialog, row]) => {
  let bottom = -Infinity;
  for (const element of dialog.querySelectorAll("*")) {
    if (row.contains(element) || element.contains(row)) continue;
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (!element.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true})) continue;
    bottom = Math.max(bottom, box.bottom);
  }
  return bottom;
}"""


@pytest.fixture
def elastic_keys(app):
    """Three keys of elastic's, the signed-in user of these tests."""
    with database.connection_context():
        elastic = subject_for_user(User.get(User.username == "elastic"), "session")
        for name in KEY_NAMES:
            api_keys.create_api_key(elastic, name=name)


def _describe_focus(page):
    return page.evaluate("""() => {
      const element = document.activeElement;
      return element ? element.outerHTML.slice(0, 200) : "nothing";
    }""")


def tab_to(page, target, *, back=False, limit=250):
    """Press Tab (Shift+Tab with back) until `target` has the focus; fails if it never gets it."""
    key = "Shift+Tab" if back else "Tab"
    is_focused = "element => element === document.activeElement"
    for _ in range(limit):
        # Resolved afresh each time: an htmx swap may replace the target after the dialog has opened.
        if target.evaluate(is_focused):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{limit} presses of {key} never focused {target}; focus is on {_describe_focus(page)}")


def expect_focus_inside(page, dialog):
    try:
        page.wait_for_function(FOCUS_INSIDE, arg=dialog.element_handle(), timeout=5_000)
    except PlaywrightTimeout as error:
        raise AssertionError(f"focus is not inside the dialog but on {_describe_focus(page)}") from error


def expect_actions_in_one_row_primary_last(dialog):
    """The dialog's action row: below the rest of its content, every button on one line, the one primary
    (non-secondary) button rightmost, and Cancel, if there is one, as tall as the primary."""
    row = dialog.locator("footer, .form-actions").last
    expect(row).to_be_visible()
    buttons = row.locator("button:visible, [role=button]:visible").all()
    assert buttons, "the dialog's action row has no buttons"
    found = [(button.inner_text().strip(), button.get_attribute("class") or "", button.bounding_box())
             for button in buttons]
    described = [(name, classes, {k: round(v) for k, v in box.items()}) for name, classes, box in found]
    tops = [box["y"] for _, _, box in found]
    assert max(tops) - min(tops) <= SAME_LINE, f"the dialog's actions are not in one row: {described}"
    content_bottom = dialog.page.evaluate(CONTENT_BOTTOM, [dialog.element_handle(), row.element_handle()])
    assert min(tops) >= content_bottom - SAME_LINE, (
        f"the action row (top {min(tops):.0f}) is not at the bottom of the dialog (content reaches "
        f"{content_bottom:.0f}): {described}")
    primaries = [item for item in found if "secondary" not in item[1].split()]
    assert len(primaries) == 1, f"expected one primary (non-secondary) action, found {described}"
    primary_name, _, primary = primaries[0]
    others = [item for item in found if item is not primaries[0]]
    assert all(box["x"] < primary["x"] for _, _, box in others), (
        f"the primary action {primary_name!r} is not the last (rightmost) one: {described}")
    for name, _, box in others:
        if name == "Cancel":
            assert abs(box["height"] - primary["height"]) <= SAME_LINE, (
                f"Cancel ({box['height']:.0f}px high) is not the size of {primary_name!r} "
                f"({primary['height']:.0f}px): {described}")


# ---- keyboard only -------------------------------------------------------------------------------------


def test_create_and_copy_a_key_with_the_keyboard_only(page, login, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    login("elastic")
    page.goto("/keys/")
    opener = page.get_by_role("button", name="Create API key").first
    tab_to(page, opener)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Create API key")
    expect(dialog).to_be_visible()
    expect_focus_inside(page, dialog)
    name = dialog.get_by_label("Name")
    tab_to(page, name)
    page.keyboard.type("typed-key")
    tab_to(page, dialog.get_by_role("button", name="Create API key"))
    page.keyboard.press("Enter")

    panel = page.get_by_role("region", name="Created API key 'typed-key'")
    expect(panel).to_be_visible()
    expect(dialog).to_be_hidden()
    field = page.get_by_label("API key", exact=True)
    expect(field).to_be_focused()
    credential = field.input_value()

    copy = panel.get_by_role("button", name=re.compile(r"^Cop(y|ied)$")).first
    expect(copy).to_have_text("Copy")
    tab_to(page, copy)
    page.keyboard.press("Enter")
    expect(copy).to_have_text("Copied")
    live = page.locator("[role=status]:not([aria-live=assertive]), output, [aria-live=polite]")
    expect(live.filter(has_text=re.compile("copied", re.IGNORECASE))).not_to_have_count(0)
    assert page.evaluate("navigator.clipboard.readText()") == credential
    expect(copy).to_have_text("Copy", timeout=5_000)  # "Copied" is shown for a moment only
    expect(copy).to_be_focused()


def test_delete_two_keys_with_the_keyboard_only(page, login, elastic_keys):
    login("elastic")
    page.goto("/keys/")
    for name in ("alpha-key", "gamma-key"):
        box = page.get_by_label(f"Select {name}")
        tab_to(page, box)
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    bulk = page.get_by_role("button", name="Delete 2 API keys")
    tab_to(page, bulk, back=True)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete 2 API keys?")
    expect(dialog).to_be_visible()
    expect_focus_inside(page, dialog)
    tab_to(page, dialog.get_by_role("button", name="Delete", exact=True))
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").filter(has_text="Deleted 2 API keys.")).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("row", name=re.compile("alpha-key|gamma-key"))).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("beta-key"))).to_be_visible()
    with database.connection_context():
        invalidated = {key.name: key.invalidated for key in ApiKey.select()}
    assert invalidated == {"alpha-key": True, "beta-key": False, "gamma-key": True}


def test_edit_a_role_with_the_keyboard_only(page, login):
    with database.connection_context():
        roles.put_role(system_subject(), "editable", {"cluster": ["monitor"]})
    login("elastic")
    page.goto("/roles/?search=editable")
    tab_to(page, page.get_by_role("link", name="Edit editable"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/roles/edit\?name=editable$"))
    tab_to(page, page.get_by_label("Description"))
    page.keyboard.type("Edited with the keyboard")
    tab_to(page, page.get_by_label("Find a cluster privilege"))
    page.keyboard.type("own_api")
    choice = page.locator("#cluster-choices").get_by_label("manage_own_api_key")
    tab_to(page, choice)
    page.keyboard.press("Space")
    expect(choice).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Save role"))
    page.keyboard.press("Enter")

    expect(page.locator("#page-message")).to_contain_text("Saved role editable.")
    with database.connection_context():
        role = roles.get_roles(system_subject())["editable"]
    assert role["description"] == "Edited with the keyboard"
    assert sorted(role["cluster"]) == ["manage_own_api_key", "monitor"]


# ---- dialogs -------------------------------------------------------------------------------------------


def _open(page, opener, dialog):
    tab_to(page, opener)
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect_focus_inside(page, dialog)


def _escape_and_dismiss(page, opener, dialog, dismiss):
    """Escape closes the dialog and gives the focus back to its opener; so does `dismiss`, reached and pressed
    with the keyboard. Ends with the dialog opened a third time, for the caller to look at."""
    _open(page, opener, dialog)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    _open(page, opener, dialog)
    tab_to(page, dismiss)
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    _open(page, opener, dialog)


def test_the_create_key_dialog(page, login):
    login("elastic")
    page.goto("/keys/")
    opener = page.get_by_role("button", name="Create API key").first
    dialog = page.get_by_role("dialog", name="Create API key")
    _escape_and_dismiss(page, opener, dialog, dialog.get_by_role("button", name="Cancel"))
    expect_actions_in_one_row_primary_last(dialog)


def test_the_key_details_dialog(page, login, elastic_keys):
    login("elastic")
    page.goto("/keys/")
    opener = page.get_by_role("link", name="beta-key")
    dialog = page.get_by_role("dialog", name="API key details")
    # Its way out: a Cancel in the action row if it has one, else the Close button.
    dismiss = dialog.get_by_role("button", name=re.compile(r"^(Cancel|Close)$")).last
    _escape_and_dismiss(page, opener, dialog, dismiss)
    expect(dialog.get_by_role("heading", name="Update API key")).to_be_visible()
    expect_actions_in_one_row_primary_last(dialog)


def test_the_delete_confirmation_dialog(page, login, elastic_keys):
    login("elastic")
    page.goto("/keys/")
    opener = page.get_by_role("button", name="Delete beta-key")
    dialog = page.get_by_role("dialog", name="Delete API key 'beta-key'?")
    _escape_and_dismiss(page, opener, dialog, dialog.get_by_role("button", name="Cancel"))
    expect_actions_in_one_row_primary_last(dialog)
    with database.connection_context():
        assert not ApiKey.get(ApiKey.name == "beta-key").invalidated
