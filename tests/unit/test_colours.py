"""Keydesk's own colours (static/app.css) keep WCAG AA contrast in both themes: status and message text
against the page and against its message background (4.5:1), white text on every solid badge and button
colour (4.5:1), and the focus ring against the page (3:1, as for any non-text indicator).

axe-core checks the text it finds on rendered pages (tests/browser/test_look.py); this checks every pair,
including states a page may not show in that run (an expired key, an error message, a focus ring).
"""

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "static" / "app.css").read_text()
PAGE = {"light": "#ffffff", "dark": "#13171f"}  # Pico's page backgrounds


def _block(selector_pattern):
    match = re.search(selector_pattern + r"\s*\{([^}]*)\}", CSS)
    assert match, f"no CSS block for {selector_pattern}"
    return dict(re.findall(r"(--kd-[\w-]+):\s*(#[0-9a-fA-F]{6})", match.group(1)))


LIGHT = _block(r"(?m)^:root")
THEMES = {"light": LIGHT, "dark": {**LIGHT, **_block(r"(?m)^\[data-theme=dark\]")}}


def _luminance(colour):
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first, second):
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_the_system_dark_theme_repeats_the_chosen_dark_theme():
    system = _block(r":root:not\(\[data-theme\]\)")
    assert system == _block(r"(?m)^\[data-theme=dark\]")


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("kind", ["danger", "warning", "success", "info"])
def test_status_and_message_text(theme, kind):
    colours = THEMES[theme]
    text, background = colours[f"--kd-{kind}"], colours[f"--kd-{kind}-bg"]
    assert contrast(text, PAGE[theme]) >= 4.5, f"{kind} text on the {theme} page"
    assert contrast(text, background) >= 4.5, f"{kind} text on its {theme} message background"


@pytest.mark.parametrize("theme", THEMES)
def test_white_text_on_every_solid_colour(theme):
    solids = {name: colour for name, colour in THEMES[theme].items() if name.startswith("--kd-solid-")}
    assert len(solids) >= 5
    for name, colour in solids.items():
        assert contrast("#ffffff", colour) >= 4.5, f"white on {name} ({theme})"


@pytest.mark.parametrize("theme", THEMES)
def test_the_focus_ring(theme):
    assert contrast(THEMES[theme]["--kd-focus"], PAGE[theme]) >= 3, f"focus ring on the {theme} page"
