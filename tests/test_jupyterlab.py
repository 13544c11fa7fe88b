"""The notebooks in a real JupyterLab, as a reader who clones the repository (or opens Binder)
sees them: rendered by JupyterLab itself, in Debian's chromium.

The test starts the pinned JupyterLab on 127.0.0.1 (a free port, a random token, a temporary
root holding a copy of the notebooks and nothing else, its own settings, config and runtime
folders), opens each notebook and checks what JupyterLab rendered:

* no MyST remnant in a rendered markdown cell: a fenced directive (which JupyterLab shows as a
  code box holding its options, e.g. ``:pyobject:``), ``{exercise}``, ``:::``, ``(label)=``,
  a role such as ``{ref}`…```;
* every ``demos.show`` listing and diff is there as coloured HTML (the box and its marked,
  removed and added lines have backgrounds; JupyterLab sanitises untrusted HTML, so inline
  styles it drops would show here);
* the Colab set-up cell and the solutions are collapsed (their code is not on screen).

Then "Run All" on one chapter (the fastest) in a fresh kernel leaves every exercise stub
unsolved: each check cell says "not yet" and each solution "passed". JupyterLab renders
cells lazily while scrolling; the settings override ``windowingMode: none`` renders them all.
At the end the kernels, the server and everything they started are stopped and checked gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from book_layout import notebooks
from browser import chromium

pytestmark = pytest.mark.slow

#: The chapter "Run All" executes: the quickest to run that has an exercise.
RUN_ALL = "how_to_read.ipynb"
START_BOUND_S = 90.0
RUN_ALL_BOUND_S = 150.0
RENDER_BOUND_S = 60.0

#: Settings every reader could set; here they make every cell render and stop outside calls.
OVERRIDES = {
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}

#: MyST that plain Jupyter shows as raw text (see tests/test_notebooks.py, MYST_ONLY).
REMNANT = re.compile(
    r"^\s*:[\w-]+:\s"  # a directive option line (:pyobject: X), shown in a code box
    r"|\{(exercise|solution|admonition|literalinclude|code-cell|note|warning|figure)\}"
    r"|^\s*:{3,}"  # colon fences
    r"|^\([\w-]+\)=\s*$"  # (label)= targets
    r"|\{[\w:-]+\}`",  # roles: {ref}`x`, {doc}`y`
    re.M,
)


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Replaces conftest's: Chromium's renderer processes come and go with its pages, so
    child processes are checked where they start, the kernels after each test (`opened`) and
    the server and all it started at the end (`lab`); threads are checked here."""
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        thread.join(2.0)
        assert not thread.is_alive(), f"thread left running: {thread.name}"


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    process: subprocess.Popen

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernel_processes(self) -> list[psutil.Process]:
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        found = []
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                if "ipykernel" in " ".join(child.cmdline()):
                    found.append(child)
        return found

    def stop_kernels(self, bound_s: float = 20.0) -> None:
        """Shut every session's kernel down (each REST call waits for its kernel to exit),
        again until none is left: a kernel may still have been starting at the first pass."""
        deadline = time.monotonic() + bound_s
        while True:
            for session in self.api("GET", "/api/sessions") or []:
                self.api("DELETE", f"/api/sessions/{session['id']}")
            for kernel in self.api("GET", "/api/kernels") or []:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
            if not self.kernel_processes() or time.monotonic() > deadline:
                return
            time.sleep(0.5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, token: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_BOUND_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {START_BOUND_S:g} s:\n"
                f"{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("lab")
    root, settings = base / "root", base / "app-settings"
    root.mkdir()
    settings.mkdir()
    for path in notebooks():
        shutil.copy2(path, root / path.name)
    (settings / "overrides.json").write_text(json.dumps(OVERRIDES))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "DEMOS_NO_PROGRESS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "JUPYTER_CONFIG_DIR": str(base / "config"), "JUPYTER_RUNTIME_DIR": str(base / "run"),
           "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": str(base / "ipython")}
    command = [
        str(Path(sys.executable).with_name("jupyter-lab")), "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.app_settings_dir={settings}",
        f"--LabApp.user_settings_dir={base / 'user-settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
        "--ServerApp.open_browser=False",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = base / "lab.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=out,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    server = Lab(url, token, root, process)
    try:
        _wait_until_up(url, token, process, log)
        yield server
    finally:
        _stop(server)


def _stop(server: Lab) -> None:
    """Kernels first (through the API), then the server; then anything left, by pid."""
    with contextlib.suppress(OSError):
        server.stop_kernels()
    try:
        family = psutil.Process(server.process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    server.process.terminate()
    try:
        server.process.wait(20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)
    for child in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, f"left running after JupyterLab stopped: {[p.pid for p in alive]}"


@pytest.fixture(scope="module")
def lab_browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def opened(lab: Lab, lab_browser):
    """open(name) → a page showing that notebook, every cell rendered; kernels stopped after."""
    contexts = []

    def open_notebook(name: str):
        context = lab_browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.route("**/*", lambda route: route.continue_()
                   if route.request.url.startswith(lab.url) else route.abort())
        # ?reset: a fresh workspace, or JupyterLab would reopen every notebook opened before.
        page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}", wait_until="load")
        stored = json.loads((lab.root / name).read_text(encoding="utf-8"))["cells"]
        markdown = sum(c["cell_type"] == "markdown" and "".join(c["source"]).strip() != ""
                       for c in stored)
        listings = sum("demos-code" in "".join(o.get("data", {}).get("text/html", ""))
                       for c in stored if c["cell_type"] == "code" for o in c["outputs"])
        # Rendered means: every cell is there, every markdown cell has its text (JupyterLab
        # fills them in asynchronously) and every stored listing/diff has been drawn.
        page.wait_for_function(
            """([cells, md, listings]) => {
              const nb = document.querySelector('.jp-Notebook');
              if (!nb || nb.querySelectorAll('.jp-Cell').length !== cells) return false;
              const filled = [...nb.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')]
                  .filter(e => e.textContent.trim() !== '').length;
              return filled === md
                     && nb.querySelectorAll('.jp-OutputArea-output .demos-code').length >= listings;
            }""",
            arg=[len(stored), markdown, listings], timeout=RENDER_BOUND_S * 1000, polling=200,
        )
        # The notebook's kernel is up (so the teardown finds and stops it, not a kernel that
        # is still starting).
        page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " return !!(w && w.sessionContext && w.sessionContext.session"
            " && w.sessionContext.session.kernel); }",
            timeout=RENDER_BOUND_S * 1000,
        )
        return page, stored

    yield open_notebook
    for context in contexts:
        context.close()
    lab.stop_kernels()
    kernels = lab.kernel_processes()
    _, alive = psutil.wait_procs(kernels, timeout=10)
    assert not alive, f"kernels left running: {[p.pid for p in alive]}"


NAMES = [p.name for p in notebooks()]

_RENDERED = r"""
() => {
  const nb = document.querySelector('.jp-Notebook');
  const markdown = [...nb.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')]
      .map(e => e.textContent);
  const bg = e => getComputedStyle(e).backgroundColor;
  const clear = c => c === 'rgba(0, 0, 0, 0)' || c === 'transparent';
  const boxes = [...nb.querySelectorAll('.jp-OutputArea-output .demos-code')].map(box => {
    const body = box.querySelector('div') || box;
    const lines = [...box.querySelectorAll('.demos-add, .demos-del, .demos-mark')];
    return {
      title: (box.querySelector('p') || box).innerText.slice(0, 90),
      text: body.textContent.trim().length,
      box: !clear(bg(body)),
      lines: lines.length,
      uncoloured: lines.filter(l => clear(bg(l))).length,
    };
  });
  return {markdown, boxes, text: nb.innerText};
}
"""


@pytest.fixture(scope="module")
def rendering() -> dict[str, dict]:
    """What JupyterLab rendered, per notebook: each is opened once, by the first test asking."""
    return {}


@pytest.fixture
def rendered(rendering, opened):
    def get(name: str) -> tuple[dict, list]:
        if name not in rendering:
            page, stored = opened(name)
            rendering[name] = (page.evaluate(_RENDERED), stored)
        return rendering[name]

    return get


@pytest.mark.parametrize("name", NAMES)
def test_markdown_renders_without_myst_remnants_in_jupyterlab(rendered, name):
    seen, _ = rendered(name)
    found = [(m.group(0).strip(), text[:80]) for text in seen["markdown"]
             for m in [REMNANT.search(text)] if m]
    assert found == [], f"raw MyST in JupyterLab's rendering: {found}"


@pytest.mark.parametrize("name", NAMES)
def test_every_listing_and_diff_shows_its_code_coloured_in_jupyterlab(rendered, name):
    seen, stored = rendered(name)
    expected = sum("demos-code" in "".join(o.get("data", {}).get("text/html", ""))
                   for c in stored if c["cell_type"] == "code" for o in c["outputs"])
    boxes = seen["boxes"]
    assert len(boxes) == expected, f"{expected} listings/diffs stored, {len(boxes)} rendered"
    for box in boxes:
        assert box["text"] > 0, f"empty code box: {box['title']}"
        assert box["box"], f"the code box has no background (styles dropped?): {box['title']}"
        assert box["uncoloured"] == 0, f"{box['uncoloured']} lines lost their colour: {box}"
    diffs = [b for b in boxes if "→" in b["title"]]
    assert all(b["lines"] > 0 for b in diffs), "a diff with no coloured line"


@pytest.mark.parametrize("name", NAMES)
def test_set_up_cell_and_solutions_are_collapsed_in_jupyterlab(rendered, name):
    text = rendered(name)[0]["text"]
    assert "colab_install.sh" not in text, "the Colab set-up code is on screen"
    assert not re.search(r"^\s*def solution_", text, re.M), "a solution's code is on screen"


def test_run_all_leaves_every_exercise_unsolved_and_every_solution_passing(opened):
    page, stored = opened(RUN_ALL)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    code = sum(c["cell_type"] == "code" and "".join(c["source"]).strip() != ""
               for c in stored)
    # Done when every code cell has a new execution count and the kernel is idle again.
    page.wait_for_function(
        """(n) => {
          const panel = window.jupyterapp.shell.currentWidget;
          const cells = [...panel.content.model.cells].filter(c => c.type === 'code'
                                                               && c.sharedModel.source.trim());
          const kernel = panel.sessionContext.session.kernel;
          return cells.length === n && cells.every(c => c.executionCount !== null)
                 && kernel.status === 'idle';
        }""",
        arg=code, timeout=RUN_ALL_BOUND_S * 1000, polling=500,
    )
    cells = page.evaluate(
        """() => [...window.jupyterapp.shell.currentWidget.content.model.cells].map(c => ({
             tags: c.getMetadata('tags') || [],
             outputs: c.type === 'code' ? c.outputs.toJSON() : [],
           }))"""
    )

    def text(cell) -> str:
        parts = []
        for output in cell["outputs"]:
            if output["output_type"] == "stream":
                parts.append("".join(output["text"]))
            elif output["output_type"] == "error":
                parts.append(f"{output['ename']}: {output['evalue']}")
            else:
                parts.append("".join(output.get("data", {}).get("text/plain", "")))
        return "\n".join(parts)

    errors = [text(c) for c in cells
              if any(o["output_type"] == "error" for o in c["outputs"])
              and "raises-exception" not in c["tags"]]
    assert errors == [], errors
    checks = [text(c) for c in cells if "exercise-check" in c["tags"]]
    solutions = [text(c) for c in cells if "solution" in c["tags"]]
    assert checks and len(checks) == len(solutions)
    assert all(" — not yet: " in t for t in checks), checks
    assert all(" — passed: " in t for t in solutions), solutions
