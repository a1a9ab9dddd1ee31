"""How a page looks, measured in the browser: layout from bounding boxes, accessibility from axe-core.

The `*_problems` functions return one readable line per failure (all of them, not just the first); the
`check_*` functions assert there are none. Both work on a Playwright page in whatever viewport and colour
scheme it is in at the time.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Viewports narrower than this count as narrow: the search box must then span the content width.
NARROW = 600
# What the page may keep beside a full-width control at a narrow viewport (container padding, borders).
NARROW_GUTTER = 48
MIN_SEARCH_WIDTH = 240
BLOCKING_IMPACTS = ("serious", "critical")

# One pass over the document, in the page: returns plain data, so all failures come back together.
_MEASURE = """() => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const describe = (el) => {
    let text = (el.innerText || el.value || el.getAttribute('aria-label') || '').replace(/\\s+/g, ' ').trim();
    if (text.length > 50) text = text.slice(0, 47) + '...';
    const id = el.id ? '#' + el.id : '';
    const classes = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    return `<${el.tagName.toLowerCase()}${id}${classes}>` + (text ? ` "${text}"` : '');
  };
  const shown = (el) => {
    if (!el.getClientRects().length) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && style.display !== 'none';
  };
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {left: Math.round(r.left), top: Math.round(r.top), right: Math.round(r.right),
            bottom: Math.round(r.bottom), width: Math.round(r.width), height: Math.round(r.height)};
  };
  const result = {vw, vh, scrollWidth: document.documentElement.scrollWidth, wide: [], labels: [],
                  dialogs: [], tables: [], searches: [], spills: []};

  // The elements sticking out on the right: the deepest ones, which are what makes the page scroll.
  if (result.scrollWidth > vw) {
    // What widens the document reaches its right edge; anything reaching further is clipped by a scrolling
    // box (a table in its scroller) and is reported as a table below, not here.
    const edge = result.scrollWidth + 1;
    const sticking = [...document.body.querySelectorAll('*')].filter((el) => {
      const right = el.getBoundingClientRect().right;
      return right > vw + 1 && right <= edge && shown(el);
    });
    const atEdge = sticking.filter((el) => el.getBoundingClientRect().right >= result.scrollWidth - 2);
    const widening = atEdge.length ? atEdge : sticking;
    const deepest = widening.filter((el) => !widening.some((other) => other !== el && el.contains(other)));
    deepest.sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right);
    result.wide = deepest.slice(0, 8).map((el) => ({what: describe(el), box: box(el)}));
    result.wideCount = deepest.length;
  }

  // Labels: visually hidden ones (1px boxes) and ones without text are no wrapping risk.
  for (const el of document.querySelectorAll('label, .label, caption')) {
    if (!shown(el) || !el.innerText.trim()) continue;
    const b = el.getBoundingClientRect();
    if (b.width <= 1 || b.height <= 1) continue;
    if (b.width <= b.height) result.labels.push({what: describe(el), box: box(el)});
  }

  // An open dialog and the boxes it shows (a modal <dialog> is often a full-screen backdrop around a card).
  for (const dialog of document.querySelectorAll('dialog[open]')) {
    const name = dialog.getAttribute('aria-label')
      || (dialog.getAttribute('aria-labelledby') || '').split(/\\s+/)
           .map((id) => document.getElementById(id)?.innerText || '').join(' ').trim()
      || describe(dialog);
    for (const el of [dialog, ...dialog.children]) {
      if (!shown(el)) continue;
      const b = box(el);
      if (b.left < 0 || b.top < 0 || b.right > vw || b.bottom > vh) {
        result.dialogs.push({dialog: name, what: describe(el).slice(0, 60), box: b});
      }
    }
  }

  // A table in a scrolling box keeps the page from scrolling, but still hides columns past the edge; and a
  // table wider than the box around it sticks out of the page's column even where the viewport has room.
  for (const el of document.querySelectorAll('table')) {
    if (!shown(el)) continue;
    const b = box(el);
    const around = el.parentElement.getBoundingClientRect();
    const style = getComputedStyle(el.parentElement);
    const inner = around.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
    if (b.right > Math.min(vw, inner) + 1 || b.left < -1) {
      const name = el.getAttribute('aria-label') || el.querySelector('caption')?.innerText.trim() || describe(el);
      result.tables.push({what: name.slice(0, 60), box: b});
    }
  }

  // A table cell whose content (a card's label, say) reaches below the cell: it overlaps what follows.
  for (const el of document.querySelectorAll('td, th')) {
    if (!shown(el) || el.scrollHeight <= el.clientHeight + 1) continue;
    if (getComputedStyle(el).overflowY !== 'visible') continue;
    result.spills.push({what: describe(el), overflow: el.scrollHeight - el.clientHeight});
  }

  // Short words split over two lines ("reserv|ed"): a column too narrow for its text. Breaks between
  // letters and digits only; breaking at a hyphen, an underscore or a space is fine, and so is code.
  const word = /[\\p{L}\\p{N}]+/gu;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const brokenIn = new Map();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('pre, code, kbd, samp, textarea, script, style, .credential')) continue;
    if (!shown(parent)) continue;
    for (const match of node.textContent.matchAll(word)) {
      if (match[0].length < 3 || match[0].length > 16) continue;
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size > 1) {
        const where = describe(parent);
        if (!brokenIn.has(where)) brokenIn.set(where, match[0]);
      }
    }
  }
  result.brokenWords = [...brokenIn].map(([what, text]) => ({what, text}));

  for (const el of document.querySelectorAll('input[type=search]')) {
    if (shown(el)) result.searches.push({what: describe(el), box: box(el)});
  }
  return result;
}"""


def _box(box):
    return f"{box['width']}x{box['height']} at ({box['left']}, {box['top']})"


def layout_problems(page) -> list[str]:
    """Everything wrong with the page's layout in its current viewport, one line each."""
    found = page.evaluate(_MEASURE)
    vw, vh = found["vw"], found["vh"]
    problems = []
    if found["scrollWidth"] > vw:
        culprits = "; ".join(f"{item['what']} ends at x={item['box']['right']}" for item in found["wide"])
        more = found["wideCount"] - len(found["wide"])
        problems.append(
            f"the page scrolls sideways: document width {found['scrollWidth']}px > viewport {vw}px. "
            f"Sticking out: {culprits}" + (f" (and {more} more)" if more > 0 else ""))
    for item in found["labels"]:
        problems.append(f"label wraps into a column (box {_box(item['box'])}, not wider than tall): {item['what']}")
    for item in found["dialogs"]:
        problems.append(f"dialog {item['dialog']!r} does not fit the {vw}x{vh} viewport: "
                        f"{item['what']} is {_box(item['box'])}")
    if found["brokenWords"]:
        shown = "; ".join(f"{item['text']!r} in {item['what']}" for item in found["brokenWords"][:6])
        more = len(found["brokenWords"]) - 6
        problems.append(f"words broken mid-word over two lines (the column or box is too narrow): {shown}"
                        + (f" (and {more} more elements)" if more > 0 else ""))
    for item in found["tables"]:
        problems.append(f"table {item['what']!r} is wider than the box around it or the {vw}px viewport "
                        f"({_box(item['box'])}): it sticks out, or its last columns need sideways scrolling")
    for item in found["spills"][:6]:
        problems.append(f"content spills {item['overflow']}px out of the bottom of its cell: {item['what']}")
    for item in found["searches"]:
        width = item["box"]["width"]
        if vw < NARROW:
            if width < vw - NARROW_GUTTER:
                problems.append(f"search box is {width}px wide at a {vw}px viewport; it should span the content "
                                f"width (>= {vw - NARROW_GUTTER}px): {item['what']}")
        elif width < MIN_SEARCH_WIDTH:
            problems.append(f"search box is {width}px wide; it should be at least {MIN_SEARCH_WIDTH}px: "
                            f"{item['what']}")
    if page.locator("#key-filters").count() and not any("key-search" in item["what"] for item in found["searches"]):
        problems.append("the keys page shows no search box #key-search")
    return problems


def check_layout(page) -> None:
    problems = layout_problems(page)
    assert not problems, "Layout problems:\n  " + "\n  ".join(problems)


def _axe_source() -> str:
    if not AXE.is_file():
        raise AssertionError(
            f"axe-core is missing ({AXE.relative_to(ROOT)}): the accessibility checks need it. "
            "Run `make setup` (it runs `npm ci`) and try again.")
    return AXE.read_text(encoding="utf-8")


_RUN_AXE = """async (impacts) => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(' '), html: n.html,
                                summary: (n.failureSummary || '').replace(/\\s+/g, ' ').trim()})),
  }));
}"""


def inject_axe(page) -> None:
    """Load axe-core into the page. `evaluate` runs as the debugger does, outside the page's CSP."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source() + "\n;undefined")


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one block per rule."""
    inject_axe(page)
    violations = page.evaluate(_RUN_AXE, list(BLOCKING_IMPACTS))
    problems = []
    for violation in violations:
        lines = [f"axe {violation['id']} ({violation['impact']}): {violation['help']} [{violation['url']}]"]
        for node in violation["nodes"][:6]:
            html = node["html"] if len(node["html"]) <= 160 else node["html"][:157] + "..."
            lines.append(f"      at {node['target']}: {html}")
            if node["summary"]:
                lines.append(f"         {node['summary'][:240]}")
        if len(violation["nodes"]) > 6:
            lines.append(f"      (and {len(violation['nodes']) - 6} more elements)")
        problems.append("\n".join(lines))
    return problems


def check_accessibility(page) -> None:
    problems = accessibility_problems(page)
    assert not problems, "Accessibility violations (serious or critical):\n  " + "\n  ".join(problems)


def settle(page) -> None:
    """Wait for finite animations and transitions (a theme switch fades colours) and two frames."""
    page.evaluate("""async () => {
      const finite = document.getAnimations().filter(
        (a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity);
      await Promise.race([Promise.all(finite.map((a) => a.finished.catch(() => null))),
                          new Promise((resolve) => setTimeout(resolve, 1000))]);
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    }""")
