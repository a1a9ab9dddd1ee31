"""The header in Chromium: the theme switch (system, light, dark; remembered), the account menu, and the
navigation folding behind "Menu" on narrow screens."""

from playwright.sync_api import expect

DARK_BACKGROUNDS = {"rgb(19, 23, 31)"}  # Pico's dark page background
LIGHT_BACKGROUNDS = {"rgb(255, 255, 255)"}


def _background(page):
    return page.evaluate("getComputedStyle(document.documentElement).backgroundColor")


def _choose_theme(page, label):
    page.locator(".account-menu > summary").click()
    page.get_by_role("group", name="Colour theme").get_by_role("button", name=label).click()


def test_the_page_follows_the_system_theme_until_one_is_chosen(page, login):
    page.emulate_media(color_scheme="dark")
    login("elastic")
    expect(page.locator("html")).not_to_have_attribute("data-theme", "light")
    assert _background(page) in DARK_BACKGROUNDS
    page.emulate_media(color_scheme="light")
    assert _background(page) in LIGHT_BACKGROUNDS


def test_a_chosen_theme_is_remembered_across_pages_and_reloads(page, login):
    page.emulate_media(color_scheme="light")
    login("elastic")
    _choose_theme(page, "Dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert _background(page) in DARK_BACKGROUNDS
    pressed = page.get_by_role("group", name="Colour theme").get_by_role("button", name="Dark")
    expect(pressed).to_have_attribute("aria-pressed", "true")

    page.goto("/roles/")  # another page, and a fresh load: applied before the first paint
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert _background(page) in DARK_BACKGROUNDS
    page.emulate_media(color_scheme="dark")
    _choose_theme(page, "Light")  # against the system's dark
    assert _background(page) in LIGHT_BACKGROUNDS
    page.reload()
    assert _background(page) in LIGHT_BACKGROUNDS

    _choose_theme(page, "System")
    expect(page.locator("html")).not_to_have_attribute("data-theme", "light")
    page.reload()
    assert page.evaluate("document.documentElement.hasAttribute('data-theme')") is False
    assert _background(page) in DARK_BACKGROUNDS
    assert page.evaluate("localStorage.getItem('keydesk-theme')") is None


def test_the_account_menu_opens_closes_with_escape_and_leads_to_the_account_page(page, login):
    login("elastic")
    summary = page.locator(".account-menu > summary")
    expect(page.get_by_role("link", name="Your account")).to_be_hidden()
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Your account")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Your account")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Your account")).to_be_hidden()
    expect(summary).to_be_focused()
    summary.click()
    page.mouse.click(700, 600)  # a click elsewhere closes it
    expect(page.get_by_role("link", name="Your account")).to_be_hidden()
    summary.click()
    page.get_by_role("link", name="Your account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()


def test_narrow_screens_fold_the_sections_behind_a_menu_button(page, login):
    page.set_viewport_size({"width": 390, "height": 844})
    login("elastic")
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Roles")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Roles")).to_be_visible()
    nav.get_by_role("link", name="Roles").click()
    expect(page.get_by_role("heading", name="Roles", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")

    page.set_viewport_size({"width": 1440, "height": 900})  # wide: every section shows, no Menu button
    expect(menu).to_be_hidden()
    expect(nav.get_by_role("link", name="Users")).to_be_visible()
