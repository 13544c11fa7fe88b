"""The built site in a real headless Chromium, as a reader offline would see it.

Chromium is Debian's (`apt-get install chromium`; `.ci/run` installs it): Playwright cannot
download its own browsers here. The site is served from 127.0.0.1; every request to any
other host is *recorded and counted as a failure* (then aborted, so the test needs no
network). So a page that works only online, or that throws, fails here; nothing is allowed.

Each page is loaded once (at desktop width, 1280 px) and what the browser saw is kept in a
:class:`Visit`; the tests below each assert one property of every visit:

* no request left 127.0.0.1; no uncaught page error; no console error;
* math is rendered: no raw TeX (``\\(``, ``$$``, ``\\frac{``) in the text a reader sees;
* every widget cell (code with ``interact``/ipywidgets, tagged ``remove-output``) is followed
  by a "Live controls" note and a ``widget-static`` cell showing a real image, and no widget
  repr (``interactive(children=…``) is printed on the page;
* diff lines are styled: removed lines on a broken-family (reddish) background, added lines
  on a fixed-family (bluish) one, and no code box cuts a line off at its edge;
* figures are real images, shown at their natural width on a desktop; on a phone they fit
  the screen and their smallest text, as the PNG records it, stays at 9 CSS px or more.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from book_layout import ROOT, repository_url, toc_chapters, toc_files
from browser import chromium

sys.path.insert(0, str(ROOT / "tools"))
try:
    import screens
finally:
    sys.path.pop(0)

pytestmark = pytest.mark.slow

LOCAL_HOSTS = ("127.0.0.1", "localhost")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: A figure drawn at most plotting.MAX_WIDTH_IN wide fits the text column at desktop width,
#: where it is shown at (nearly) its natural size.
MIN_FIGURE_SCALE = 0.9
#: "index" is the redirect page at the site root (it asks the server for /favicon.ico).
PAGES = [*toc_files(), "search", "genindex", "index"]
NOTEBOOK_PAGES = [p for p in toc_files() if p.startswith("notebooks/")]

#: Raw TeX that a reader would see if MathJax did not run (or was not loaded).
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(frac|mathrm|mathbf|approx|times|cdot)\b")

# What the page shows, measured in the browser once it has settled (MathJax typeset).
_MEASURE = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  // The reader's text: the article without code, outputs of code and rendered math.
  const article = document.querySelector("main article") || document.querySelector("main")
                  || document.body;
  const prose = article.cloneNode(true);
  prose.querySelectorAll("pre, code, .cell_output, mjx-container, script, style")
       .forEach(e => e.remove());
  const images = [...document.images].map(i => ({
    src: i.getAttribute("src"), complete: i.complete, natural: i.naturalWidth,
    shown: i.getBoundingClientRect().width, inOutput: !!i.closest(".cell_output"),
    right: i.getBoundingClientRect().right,
    alt: i.getAttribute("alt") || "",
  }));
  const cells = [...document.querySelectorAll("div.cell")].map(c => ({
    tags: [...c.classList].filter(k => k.startsWith("tag_")).map(k => k.slice(4)),
    code: (c.querySelector(".cell_input pre") || {}).textContent || "",
    toggles: [...c.querySelectorAll("details.hide > summary")].map(s => s.innerText.trim()),
    images: [...c.querySelectorAll(".cell_output img")].filter(visible)
                .filter(i => i.complete && i.naturalWidth > 0).length,
    outputText: [...c.querySelectorAll(".cell_output")].filter(visible)
                .map(o => o.innerText.trim()).join("\n"),
    notePrecedes: (() => {
      for (let e = c.previousElementSibling; e; e = e.previousElementSibling) {
        if (e.matches("div.cell")) return false;
        if (e.matches("blockquote") && /Live controls/.test(e.textContent)) return true;
      }
      return false;
    })(),
  }));
  const styled = sel => [...document.querySelectorAll(sel)].map(
      s => getComputedStyle(s).backgroundColor);
  const boxes = [...document.querySelectorAll(".demos-code")].map(b => {
    const inner = b.querySelector("div") || b;
    return {title: b.textContent.slice(0, 80), overflow: inner.scrollWidth - inner.clientWidth};
  });
  return {
    overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    h1: document.querySelectorAll("main h1").length,
    mathSource: document.querySelectorAll("main .math").length,
    mathTypeset: document.querySelectorAll("main .math mjx-container").length,
    prose: prose.innerText,
    text: article.innerText,
    images, cells, boxes,
    added: styled(".demos-add"), removed: styled(".demos-del"),
  };
}
"""


@dataclass
class Visit:
    """What one page load did and showed."""

    status: int
    outside_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    seen: dict[str, Any] = field(default_factory=dict)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Chromium's renderer processes come and go with pages; only threads are checked here."""
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        thread.join(2.0)
        assert not thread.is_alive(), f"thread left running: {thread.name}"


@pytest.fixture(scope="module")
def site_dir(request: pytest.FixtureRequest) -> Path:
    """The site to test: $DEMOS_BUILT_SITE (an already built html/ folder) or a fresh build."""
    given = os.environ.get("DEMOS_BUILT_SITE")
    if given:
        return Path(given)
    return request.getfixturevalue("built_site")


@pytest.fixture(scope="module")
def site_url(site_dir: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5.0)


@pytest.fixture(scope="module")
def site_browser():
    with chromium() as browser:
        yield browser


def open_page(browser, url: str, visit: Visit, **context_options: Any):
    """A new context and page that records what a test must fail on."""
    context = browser.new_context(**context_options)
    page = context.new_page()

    def only_local(route) -> None:
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            visit.outside_requests.append(route.request.url)  # a failure, not an allowance
            route.abort()

    page.route("**/*", only_local)
    page.on("console", lambda m: m.type == "error" and visit.console_errors.append(m.text))
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
    response = page.goto(url, wait_until="networkidle")
    visit.status = response.status if response is not None else 0
    return context, page


@pytest.fixture(scope="module")
def visits(site_browser, site_url) -> Iterator[dict[str, Visit]]:
    """Each page loaded once per width, lazily (desktop unless phone=True); shared below."""
    cache: dict[tuple[str, bool], Visit] = {}

    def visit(name: str, phone: bool = False) -> Visit:
        if (name, phone) not in cache:
            record = Visit(status=0)
            context, page = open_page(site_browser, f"{site_url}/{name}.html", record,
                                      viewport=PHONE if phone else DESKTOP)
            try:
                record.seen = page.evaluate(_MEASURE)
                page.wait_for_load_state("networkidle")
            finally:
                context.close()
            cache[name, phone] = record
        return cache[name, phone]

    yield visit  # type: ignore[misc]


@pytest.mark.parametrize("name", PAGES)
def test_page_makes_no_request_to_any_other_host(visits, name):
    visit = visits(name)
    assert visit.status == 200
    assert visit.outside_requests == []


@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_page_error_and_no_console_error(visits, name):
    visit = visits(name)
    assert visit.page_errors == []
    assert visit.console_errors == []


@pytest.mark.parametrize("name", toc_files())
def test_page_has_a_title_and_only_real_images(visits, name):
    seen = visits(name).seen
    assert seen["h1"] >= 1
    broken = [i["src"] for i in seen["images"] if not (i["complete"] and i["natural"] > 0)]
    assert broken == []


@pytest.mark.parametrize("name", toc_files())
def test_math_is_rendered_no_raw_tex_in_the_text(visits, name):
    seen = visits(name).seen
    found = sorted({m.group(0) for m in RAW_TEX.finditer(seen["prose"])})
    assert found == [], f"raw TeX visible on {name}: {found}"
    assert seen["mathTypeset"] == seen["mathSource"], (
        f"MathJax typeset {seen['mathTypeset']} of the {seen['mathSource']} formulas"
    )


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_figures_are_not_scaled_below_their_text_legibility(visits, name):
    figures = [i for i in visits(name).seen["images"] if i["inOutput"] and i["natural"] > 0]
    assert figures, f"{name} shows no figure"
    shrunk = [(i["src"], round(i["shown"] / i["natural"], 2)) for i in figures
              if i["shown"] < MIN_FIGURE_SCALE * i["natural"]]
    assert shrunk == [], f"figures scaled below {MIN_FIGURE_SCALE} of natural width: {shrunk}"


#: Pages whose stored figures were drawn before their PNGs recorded their smallest text
#: (demos.plotting.alt, "MinTextPx"): until the notebook is re-executed (`make notebooks`),
#: their smallest text is taken to be plotting.MIN_FONT_PT (the style's floor) at DPI. Only
#: that one number falls back; the width and sideways-scroll checks run on every page. A page
#: whose PNGs all record MinTextPx must leave this set (checked below).
STORED_BEFORE_MIN_TEXT: set[str] = set()  # every notebook was re-executed since


@pytest.mark.parametrize("name", ["book/intro", *NOTEBOOK_PAGES])
def test_on_a_phone_figures_fit_the_screen_with_text_of_9_css_px_or_more(visits, site_dir, name):
    """At 390 px every figure is shown whole, within the screen (never cut, never scrolled
    sideways), and scaled so that its smallest text, as drawn (the size its PNG records),
    is still at least 9 CSS px; the page itself never scrolls sideways."""
    from demos.plotting import DPI, MIN_FONT_PT
    from demos.plotting.alt import png_min_text_px

    visit = visits(name, phone=True)
    assert visit.outside_requests == [] and visit.page_errors == []
    assert visit.seen["overflowX"] <= 1, "the page scrolls sideways on a phone"
    figures = [i for i in visit.seen["images"] if i["inOutput"] and i["natural"] > 0]
    too_wide = [(i["src"], i["shown"]) for i in figures if i["right"] > PHONE["width"] + 0.5]
    assert too_wide == [], f"figures wider than the screen: {too_wide}"
    drawn = {i["src"]: png_min_text_px(_png(site_dir, name, i["src"])) for i in figures}
    unknown = [src for src, px in drawn.items() if px is None]
    if name in STORED_BEFORE_MIN_TEXT:
        assert unknown, f"{name}'s figures all record MinTextPx: remove it from the set"
        floor = MIN_FONT_PT * DPI / 72  # the style's smallest font, in PNG pixels
        drawn = {src: floor if px is None else px for src, px in drawn.items()}
    else:
        assert unknown == [], f"figures whose PNG does not record its smallest text: {unknown}"
    small = [(i["src"], round(drawn[i["src"]] * i["shown"] / i["natural"], 1)) for i in figures
             if drawn[i["src"]] * i["shown"] / i["natural"] < 9]
    assert small == [], f"figures whose smallest text is under 9 CSS px on a phone: {small}"


def _is_widget_cell(cell: dict) -> bool:
    """A cell that creates a live control: ``interact(...)`` or an ipywidgets constructor."""
    return bool(re.search(r"\binteract(ive)?\s*\(|\bwidgets\.[A-Z]\w*\s*\(", cell["code"])
                ) and "widget-static" not in cell["tags"]


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_every_widget_cell_is_followed_by_a_note_and_a_static_rendering(visits, name):
    seen = visits(name).seen
    cells = seen["cells"]
    assert "interactive(children=" not in seen["text"], "a widget's repr is printed"
    for i, cell in enumerate(cells):
        if not _is_widget_cell(cell):
            continue
        where = next(line.strip() for line in cell["code"].splitlines()
                     if re.search(r"interact|widgets\.", line))[:80]
        assert "remove-output" in cell["tags"], f"widget cell not tagged remove-output: {where}"
        following = cells[i + 1] if i + 1 < len(cells) else None
        assert following is not None and "widget-static" in following["tags"], (
            f"no `widget-static` cell right after the widget cell {where!r}"
        )
        # A widget whose live output is a figure is rendered as that figure; one whose live
        # output is a table or text (chapter 1's bit explorer) as that text.
        assert following["images"] >= 1 or following["outputText"], (
            f"the static rendering after {where!r} shows nothing"
        )
        assert following["notePrecedes"], f"no `> **Live controls.**` note after {where!r}"


def _rgb(css: str) -> tuple[int, int, int, float]:
    parts = [float(p) for p in re.findall(r"[\d.]+", css)]
    r, g, b = (int(p) for p in parts[:3])
    return r, g, b, parts[3] if len(parts) > 3 else 1.0


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_diff_lines_are_styled_in_the_book_colours_and_never_cut_off(visits, name):
    seen = visits(name).seen
    for css in seen["removed"]:
        r, g, b, alpha = _rgb(css)
        assert alpha > 0 and r > b, f"a removed line is not on a broken-family background: {css}"
    for css in seen["added"]:
        r, g, b, alpha = _rgb(css)
        assert alpha > 0 and b > r, f"an added line is not on a fixed-family background: {css}"
    cut = [box["title"] for box in seen["boxes"] if box["overflow"] > 1]
    assert cut == [], f"code boxes that cut lines off at their edge: {cut}"


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_launch_buttons_open_this_notebook_on_binder_and_colab(site_browser, site_url, name):
    visit = Visit(status=0)
    context, page = open_page(site_browser, f"{site_url}/{name}.html", visit)
    try:
        hrefs = page.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
    finally:
        context.close()
    repo = urlparse(repository_url()).path.strip("/")
    notebook = f"{name}.ipynb"
    binder = [h for h in hrefs if "mybinder.org" in h and repo in h and notebook in h]
    colab = [h for h in hrefs if "colab.research.google.com" in h and repo in h and notebook in h]
    assert binder, f"no Binder link to {notebook} among {hrefs}"
    assert colab, f"no Colab link to {notebook} among {hrefs}"


def test_the_front_page_links_to_every_chapter(site_browser, site_url):
    from demos.catalogue import pitfalls

    visit = Visit(status=0)
    context, page = open_page(site_browser, f"{site_url}/{toc_files()[0]}.html", visit)
    try:
        hrefs = page.evaluate("[...document.querySelectorAll('main a')].map(a => a.href)")
    finally:
        context.close()
    # Each landed pitfall's page, named after it (chapters 10 and up, not depth pages like 01b_).
    chapters = [f"notebooks/{p.chapter:02d}_{p.name}" for p in pitfalls()]
    assert chapters and set(chapters) <= set(NOTEBOOK_PAGES), (chapters, NOTEBOOK_PAGES)
    missing = [c for c in chapters if not any(h.endswith(f"/{c}.html") for h in hrefs)]
    assert missing == []


# Tap a button as a reader does: the visible one (a theme may draw others, hidden).
_SECTIONS = r"""
() => [...document.querySelectorAll("main article section > h2")]
        .map(h => h.textContent.replace(/#$/, "").trim()).filter(Boolean)
"""


def _dialog(page, dialog_id: str) -> dict:
    """The dialog's state, and the links a reader can reach in it: each one scrolled into
    view inside the dialog (only boxes a reader can scroll may move), then hit-tested at its
    centre (a link clipped by the dialog, or covered by anything, is not the element there)."""
    return page.evaluate(
        """id => { const d = document.getElementById(id);
                   const r = d.getBoundingClientRect();
                   const seen = a => {
                     if (!a.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}))
                       return false;
                     a.scrollIntoView({block: "center", inline: "nearest"});
                     // Only a box a reader can scroll (overflow auto/scroll) may have moved:
                     // overflow:hidden is scrollable from script, never by a finger.
                     for (let e = a.parentElement; e; e = e.parentElement) {
                       const s = getComputedStyle(e);
                       if ((e.scrollTop > 0 && !/auto|scroll/.test(s.overflowY))
                           || (e.scrollLeft > 0 && !/auto|scroll/.test(s.overflowX)))
                         return false;
                     }
                     const b = a.getBoundingClientRect();
                     if (!(b.width > 0 && b.height > 0 && b.left >= 0
                           && b.right <= window.innerWidth + 1)) return false;
                     const hit = document.elementFromPoint(b.left + b.width / 2,
                                                           b.top + b.height / 2);
                     return !!hit && (hit === a || a.contains(hit)); };
                   return {open: d.open, text: d.innerText, left: r.left, width: r.width,
                           links: [...d.querySelectorAll('a')].filter(seen).map(a => a.href)}; }""",
        dialog_id,
    )


@pytest.mark.parametrize("name", toc_files())
def test_on_a_phone_the_menu_and_contents_buttons_open_chapters_and_sections(
        site_browser, site_url, name):
    """At 390 px, ≡ opens the chapter list and "Contents" the page's sections, on screen."""
    visit = Visit(status=0)
    context, page = open_page(site_browser, f"{site_url}/{name}.html", visit, viewport=PHONE)
    try:
        sections = page.evaluate(_SECTIONS)
        page.locator(".primary-toggle:visible").first.click()
        menu = _dialog(page, "pst-primary-sidebar-modal")
        page.keyboard.press("Escape")
        contents = None
        if len(sections) >= 2:
            page.locator(".secondary-toggle:visible").first.click()
            contents = _dialog(page, "pst-secondary-sidebar-modal")
    finally:
        context.close()
    assert menu["open"] and menu["width"] > 100 and menu["left"] >= 0, f"≡ did nothing: {menu}"
    chapters = [p for p in toc_chapters() if p != name]  # depth pages may sit folded
    missing = [c for c in chapters if not any(h.endswith(f"/{c}.html") for h in menu["links"])]
    assert missing == [], f"the chapter list opened by ≡ does not show (visibly) {missing}"
    if contents is not None:
        assert contents["open"] and contents["width"] > 100, f"Contents did nothing: {contents}"
        absent = [s for s in sections if s not in contents["text"]]
        assert absent == [], f"the Contents dialog lacks the sections {absent}"
    assert visit.page_errors == [] and visit.console_errors == []


def test_at_desktop_width_the_menu_button_collapses_and_restores_the_sidebar(
        site_browser, site_url):
    visit = Visit(status=0)
    name = NOTEBOOK_PAGES[-1]
    context, page = open_page(site_browser, f"{site_url}/{name}.html", visit, viewport=DESKTOP)
    shown = "getComputedStyle(document.getElementById('pst-primary-sidebar')).visibility"
    try:
        before = page.evaluate(shown)
        page.locator(".primary-toggle:visible").first.click()
        page.wait_for_function(f"{shown} === 'hidden'", timeout=5000)
        dialog_open = page.evaluate("document.getElementById('pst-primary-sidebar-modal').open")
        page.locator(".primary-toggle:visible").first.click()
        page.wait_for_function(f"{shown} === 'visible'", timeout=5000)
    finally:
        context.close()
    assert before == "visible"
    assert not dialog_open, "at 1280 px ≡ opened the phone dialog instead of collapsing"


def _png(site_dir: Path, name: str, src: str) -> Path:
    """The built file an <img src> of page ``name`` points at."""
    return (site_dir / name).parent.joinpath(src).resolve()


@pytest.mark.parametrize("name", toc_files())
def test_every_image_has_alt_text_that_says_what_the_figure_shows(visits, site_dir, name):
    """An output figure's alt is the sentence its PNG carries (demos.plotting.alt), never a
    path and never the extension's fallback ("Figure in the section …", "A figure")."""
    from demos.plotting.alt import png_description

    images = visits(name).seen["images"]
    bad = [(i["src"], i["alt"]) for i in images
           if not i["alt"].strip() or re.search(r"(^|/)[\w.-]+\.(png|svg|jpe?g)$", i["alt"])
           or i["alt"] == i["src"]]
    assert bad == [], f"images whose alt text is empty or a file path: {bad}"
    figures = [i for i in images if i["inOutput"]]
    fallback = [(i["src"], i["alt"]) for i in figures
                if i["alt"].startswith("Figure in the section") or i["alt"] == "A figure"
                or i["alt"] != png_description(_png(site_dir, name, i["src"]))]
    assert fallback == [], f"figures whose alt text is not what their PNG says: {fallback}"
    # And it says what the data are, not only the title: a number after "Figure: <title>."
    # (or in a figure's own alt, demos.plotting.set_alt). Pages stored before describe()
    # read the data (STORED_BEFORE_MIN_TEXT, the same re-execution) are checked once re-run.
    if name not in STORED_BEFORE_MIN_TEXT:
        bare = [(i["src"], i["alt"]) for i in figures if not alt_gives_data(i["alt"])]
        assert bare == [], f"figures whose alt text gives no data, only a title: {bare}"


def _is_grid_of_words(said: str) -> bool:
    """``Grid: <row>: <column> <word>, <column> <word>; <row>: ...`` with every row naming
    the same columns in the same order, each followed by its word(s): a categorical grid."""
    if not said.startswith("Grid: ") or not said.endswith("."):
        return False
    columns = []
    for row in said[len("Grid: "):-1].split("; "):
        label, _, cells = row.partition(": ")
        parts = [c.split(" ", 1) for c in cells.split(", ")] if label and cells else []
        if not parts or any(len(p) < 2 or not p[1].strip() for p in parts):
            return False
        columns.append([p[0] for p in parts])
    return all(c == columns[0] for c in columns)


def alt_gives_data(alt: str) -> bool:
    """After ``Figure: <title>.``, the alt text gives the data: a number (a bar's height, a
    line's ends, a count), or, for a grid of categories, every row's word in every column;
    a bare title, a title plus its axes' names, or a path gives none."""
    if re.search(r"(^|/)[\w.-]+\.(png|svg|jpe?g)$", alt):
        return False
    said = re.sub(r"^Figure: .*?\.(\s|$)", "", alt, count=1).strip()
    return bool(re.search(r"\d", said)) or _is_grid_of_words(said)


@pytest.mark.parametrize(("alt", "gives"), [
    ("Figure: Calls. Bars of calls: broken 3, fixed 2.", True),
    ("Figure: Broken vs fixed, one run. Grid: a reader used the model early: broken manifested"
     " (3 of 20), fixed held (0 of 20).", True),
    ("Figure: Files newer than the runtime, opened. Grid: ir_too_new: broken named by runtime,"
     " fixed clear error; tokenizer_field_too_new: broken silent wrong, fixed clear error.", True),
    ("Figure: Files newer than the runtime, opened.", False),  # a title only
    ("Figure: 3 threads, 2 sessions. Plots calls against threads.", False),  # numbers in title
    ("Figure: Verdicts. Grid: .", False),
    ("Figure: Verdicts. Grid: ir_too_new: named; opset_too_new: clear.", False),  # no columns
    ("Figure: Verdicts. Grid: a: broken named, fixed clear; b: fixed clear, broken named.",
     False),  # rows that do not name the same columns are not one grid
    ("../_images/48ed09b4.png", False),
])
def test_alt_text_with_data_is_told_from_a_bare_title(alt, gives):
    assert alt_gives_data(alt) is gives


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_solutions_are_labelled_as_solutions(visits, name):
    cells = visits(name).seen["cells"]
    solutions = [c for c in cells if "solution" in c["tags"]]
    # One toggle, and it says what it hides (a second one, "Show code cell output", was
    # a solution shown as two things to open).
    unlabelled = [(c["code"][:60], c["toggles"]) for c in solutions
                  if len(c["toggles"]) != 1 or not c["toggles"][0].startswith("Show the solution")]
    assert unlabelled == [], f"solutions without exactly one 'Show the solution': {unlabelled}"
    listings = [c for c in cells if "listing" in c["tags"]]
    wrong = [(c["code"][:60], c["toggles"]) for c in listings
             if len(c["toggles"]) != 1 or "full listing" not in c["toggles"][0]]
    assert wrong == [], f"listings without exactly one 'Show the full listing': {wrong}"


@pytest.mark.parametrize(("tags", "mode", "expected"), [
    (["listing", "hide-output"], "output", ("output", "Show the full listing")),
    (["listing", "hide-input", "hide-output"], "input+output", ("all", "Show the full listing")),
    (["solution", "hide-input"], "input", ("input", "Show the solution")),
    (["solution", "hide-input", "hide-output"], "input+output", ("all", "Show the solution")),
    (["hide-input", "hide-output"], "input+output", ("input+output", "Show code cell {type}")),
])
def test_a_labelled_cell_gets_one_toggle_that_says_what_it_hides(tags, mode, expected):
    """myst-nb gives a cell hiding code and output two toggles; a listing or solution gets one
    (hidden whole), an untagged cell keeps myst-nb's two."""
    from docutils import nodes

    from demos.plotting.sphinx_site import label_toggle

    cell = nodes.container(nb_element="cell_code", cell_metadata={"tags": tags},
                           hide_mode=mode, prompt_show="Show code cell {type}")
    label_toggle(cell)
    assert (cell["hide_mode"], cell["prompt_show"]) == expected


def test_the_compat_page_renders_its_tables_as_tables_not_markdown_source(
        visits, site_browser, site_url):
    """Two real tables (environments, then every question against every environment), each
    as many rows and columns as the matrix's data has, and no Markdown table source."""
    from demos import compat

    seen = visits("book/compat").seen
    assert not re.search(r"^\s*\|.*\|\s*$", seen["text"], re.MULTILINE), "Markdown table source"
    assert "|---" not in seen["text"]
    matrix = compat.load(ROOT / "book" / "data" / "compat")
    found = compat.changes(matrix)
    visit = Visit(status=0)
    context, page = open_page(site_browser, f"{site_url}/book/compat.html", visit)
    try:
        tables = page.evaluate("""[...document.querySelectorAll('.demos-compat table')].map(t => ({
            head: [...t.querySelectorAll('thead th')].map(th => th.innerText.trim()),
            rows: [...t.querySelectorAll('tbody tr')].filter(r => r.querySelector('td'))
                     .map(r => [...r.cells].map(c => c.innerText.trim())),
            width: t.getBoundingClientRect().width}))""")
    finally:
        context.close()
    assert len(tables) == 2, f"expected the environments table and the grid, got {len(tables)}"
    environments, grid = tables
    assert len(environments["rows"]) == len(matrix)
    assert grid["head"] == ["question", *(compat.label(d) for d in matrix)]
    assert sorted(r[0] for r in grid["rows"]) == sorted(c.question for c in found)
    assert grid["width"] > 0
    labels = [compat.label(d) for d in matrix]
    expected = set()  # (question, environment) pairs whose answer differs from the first's
    for change in (c for c in found if c.changed):
        answer = {lab: seen for seen, labs in change.seen for lab in labs}
        expected |= {(change.question, lab) for lab in labels
                     if answer.get(lab, "not run") != answer.get(labels[0])}
    marked = {(row[0], grid["head"][j]) for row in grid["rows"]
              for j, cell in enumerate(row) if j > 0 and cell.startswith("≠")}
    assert marked == expected, (
        f"marked ≠ but the same: {sorted(marked - expected)}; "
        f"different but not marked: {sorted(expected - marked)}")
    observed = "\n".join(" ".join(r) for r in grid["rows"])
    assert "300*300/300" in observed or "300*300/300" not in str(matrix), (
        "an observation lost its *")


#: Smallest type of the printed cheat sheet's cells (its text is 6.1 pt, its labels too,
#: run in; see _static/demos.css): fitting one more pitfall must not shrink it.
MIN_PRINT_PT = 6
#: Smallest type of the cheat sheet on screen (its code is the smallest: 0.8 x 16 px).
MIN_SCREEN_PT = 9
#: WCAG AA contrast for normal text.
MIN_CONTRAST = 4.5

# Every Symptom/Detect/Fix cell of the cheat sheet as the reader gets it in the current media:
# its text, whether it is rendered (not display:none, hidden or transparent by opacity), the
# smallest font size and the lowest text/background contrast of the text in it.
_CHEAT_CELLS = r"""
() => {
  const rgba = css => { const p = css.match(/[\d.]+/g).map(Number);
                        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => { const f = c => { c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3]));
  const background = el => {  // the opaque colour behind el, white paper underneath all
    const layers = [];
    for (let e = el; e; e = e.parentElement) layers.push(rgba(getComputedStyle(e).backgroundColor));
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255]);
  };
  const opacity = el => { let o = 1;
    for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
    return o; };
  const cells = [];
  for (const row of document.querySelectorAll("table.demos-cheat tr")) {
    const label = row.cells[0] && row.cells[0].innerText.trim();
    if (!["Symptom", "Detect", "Fix"].includes(label)) continue;
    const td = row.cells[row.cells.length - 1];
    let minPt = Infinity, minContrast = Infinity;
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim()) continue;
      const el = n.parentElement, style = getComputedStyle(el);
      minPt = Math.min(minPt, parseFloat(style.fontSize) * 0.75);
      const ink = rgba(style.color), bg = background(el);
      const fg = over([ink[0], ink[1], ink[2], ink[3] * opacity(el)], bg);
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      minContrast = Math.min(minContrast, (hi + 0.05) / (lo + 0.05));
    }
    const r = td.getBoundingClientRect();
    cells.push({label, text: td.textContent.trim(), shown: td.innerText.trim(),
                rendered: td.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})
                          && r.width > 0 && r.height > 0,
                minPt, minContrast});
  }
  return cells;
}
"""


def _unreadable_cheat_cells(cells: list[dict], min_pt: float) -> list[tuple]:
    """Cells a reader cannot read: not rendered, empty, too small, or too faint."""
    return [(c["label"], c["text"][:40], round(c["minPt"], 1), round(c["minContrast"], 2))
            for c in cells
            if not c["rendered"] or not c["shown"] or c["minPt"] < min_pt
            or c["minContrast"] < MIN_CONTRAST]


def test_the_cheat_sheet_shows_each_pitfall_as_a_table_to_scan(visits, site_browser, site_url):
    """Each block of book/cheatsheet.md is a table: Symptom, Detect, Fix, then its chapter's
    link (demos.plotting.sphinx_site.CheatSheetTables); no block is left as paragraphs."""
    visit = Visit(status=0)
    context, page = open_page(site_browser, f"{site_url}/book/cheatsheet.html", visit)
    try:
        blocks = page.evaluate("""
          [...document.querySelectorAll('section#cheat-sheet > section')].map(s => ({
            title: s.querySelector('h2').innerText,
            labels: [...s.querySelectorAll('table.demos-cheat tr')]
                      .map(r => r.cells[0].innerText.trim()),
            link: (s.querySelector('table.demos-cheat tr:last-child a') || {}).href || '',
            loose: [...s.querySelectorAll(':scope > p')].map(p => p.innerText.slice(0, 30)),
          }))""")
        cells = page.evaluate(_CHEAT_CELLS)
    finally:
        context.close()
    assert len(cells) == 3 * len(blocks), f"{len(cells)} cells for {len(blocks)} blocks"
    unreadable = _unreadable_cheat_cells(cells, MIN_SCREEN_PT)
    assert unreadable == [], (
        f"cells not shown, under {MIN_SCREEN_PT} pt or under {MIN_CONTRAST}:1: {unreadable}")
    phone = Visit(status=0)
    context, page = open_page(site_browser, f"{site_url}/book/cheatsheet.html", phone,
                              viewport=PHONE)
    try:  # on a phone every table fits the screen: no text cut off at its right edge
        cut = page.evaluate("""[...document.querySelectorAll('table.demos-cheat')]
            .filter(t => t.getBoundingClientRect().right > window.innerWidth + 1
                         || t.scrollWidth > t.clientWidth + 1)
            .map(t => t.innerText.slice(0, 40))""")
    finally:
        context.close()
    assert cut == [], f"cheat-sheet tables wider than a 390 px screen: {cut}"
    assert len(blocks) >= 6
    for block in blocks:
        assert block["labels"] == ["Symptom", "Detect", "Fix", "Chapter"], block
        assert re.search(r"/notebooks/\d\d\w*_\w+\.html", block["link"]), block
        assert block["loose"] == [], f"paragraphs outside the table in {block['title']!r}"


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_cheat_sheet_prints_on_one_page(site_browser, site_url, paper):
    """A workshop hands the cheat sheet out: one page, every pitfall's block on it."""
    visit = Visit(status=0)
    context, page = open_page(site_browser, f"{site_url}/book/cheatsheet.html", visit)
    try:
        headings = page.evaluate(
            "[...document.querySelectorAll('section#cheat-sheet h2')].map(h => h.innerText)")
        on_screen = page.evaluate(_CHEAT_CELLS)
        page.emulate_media(media="print")
        on_paper = page.evaluate(_CHEAT_CELLS)
        hidden = page.evaluate(
            "[...document.querySelectorAll('section#cheat-sheet h2')]"
            ".filter(h => h.getBoundingClientRect().height === 0).length")
        # A label wider than its column is printed over the text beside it.
        spilled = page.evaluate(
            "[...document.querySelectorAll('table.demos-cheat td:first-child')]"
            ".filter(td => td.scrollWidth > td.clientWidth + 1).map(td => td.innerText)")
        pdf = page.pdf(format=paper, print_background=True)
    finally:
        context.close()
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"the cheat sheet prints on {pages} {paper} pages"
    assert len(headings) >= 6 and hidden == 0
    assert spilled == [], f"labels that overflow their column on paper: {spilled}"
    # Every Symptom/Detect/Fix cell is printed, readable: big enough, dark enough.
    assert len(on_screen) >= 3 * len(headings) and len(on_paper) == len(on_screen)
    unreadable = _unreadable_cheat_cells(on_paper, MIN_PRINT_PT)
    assert unreadable == [], (
        f"cells not printed, under {MIN_PRINT_PT} pt or under {MIN_CONTRAST}:1: {unreadable}")
    # And their text is in the PDF itself (poppler's pdftotext, when installed).
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                              check=True, timeout=60).stdout.decode()
        # pdftotext joins a word hyphenated at a line's end, dropping its hyphen.
        squeeze = functools.partial(re.sub, r"[\s\-\u00ad\u2010]+", "")
        absent = [(c["label"], c["text"][:40]) for c in on_screen
                  if squeeze(c["text"]) not in squeeze(text)]
        assert absent == [], f"cells whose text is not in the printed PDF: {absent}"


#: Pages already laid out by #24 item 3's rule (tools/screens.py): under screens.MAX_SCREENS
#: screens at 1280 px, and no more than screens.MAX_RUN screens without a figure, a diff or a
#: table. A chapter joins this set when its page is restructured; in the end it holds every
#: page of screens.reading_pages(toc_files()).
RESTRUCTURED = {
    "book/intro",
    "notebooks/how_to_read",
    "notebooks/00_running_example",
    "notebooks/03_batching",
    "notebooks/03b_batching_pays",
    "notebooks/04b_thread_budget",
    "notebooks/05b_runtime_contract",
    "notebooks/06_tokenizer_threads",
    "notebooks/06b_forks",
    "notebooks/01_precision",
    "notebooks/01b_bfloat16_int8",
    "notebooks/01c_int8",
    "notebooks/02_publication",
    "notebooks/02b_fork_workers",
}


def test_every_restructured_page_is_a_reading_page():
    assert set(screens.reading_pages(toc_files())) >= RESTRUCTURED


@pytest.mark.parametrize("name", sorted(RESTRUCTURED))
def test_a_restructured_page_is_short_and_never_long_without_a_figure(
        site_browser, site_url, name):
    """tools/screens.py's measurement, at 1280x800: the page and its longest bare stretch."""
    measured = screens.measure_site(site_browser, site_url, [name])[0]
    assert measured.over() == [], measured.over()
