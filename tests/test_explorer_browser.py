"""The TimestepExplorer in a real JupyterLab, driven by a headless Debian chromium through Playwright.

The explorer's cells of ``notebooks/03_ad_scheduler.ipynb`` (its import cell and the cells from the explorer on)
are copied into a small notebook in a temporary root folder, so the repository is never touched. The test starts
JupyterLab on 127.0.0.1 (free port, no token), runs all cells, moves the ``s`` slider with the keyboard and checks
that the heatmap image and the NFE label changed; a screenshot goes to ``artifacts/`` (git-ignored).

Without chromium (or playwright) the test skips, unless ``ARDIFF_EDU_REQUIRE_BROWSER=1`` (set by CI): then it fails.
Never ``playwright install``: the browser is Debian's (``apt-get install chromium``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ardiff_edu.utils import REPO_ROOT

pytestmark = pytest.mark.browser

NOTEBOOK = REPO_ROOT / "notebooks" / "03_ad_scheduler.ipynb"
ARTIFACTS = REPO_ROOT / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
                 "--disable-dev-shm-usage"]
#: keep JupyterLab quiet: no "Jupyter news" toast, no update check
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
KERNEL_IDLE_JS = """() => { const a = window.jupyterapp; const w = a && a.shell.currentWidget;
    const s = w && w.sessionContext && w.sessionContext.session;
    return !!(s && s.kernel && s.kernel.status === 'idle'); }"""


def _unavailable(reason: str):
    if os.environ.get("ARDIFF_EDU_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ARDIFF_EDU_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        _unavailable("Debian chromium is not installed (apt-get install -y --no-install-recommends chromium)")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _explorer_notebook(root: Path) -> str:
    """A copy of the notebook's explorer cells (the import cell, then every code cell from the explorer on)."""
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    start = next(i for i, c in enumerate(code) if "TimestepExplorer(" in "".join(c["source"]))
    cells = [code[0]] + code[start:]
    nb["cells"] = [{**c, "outputs": [], "execution_count": None} for c in cells]
    (root / "explorer.ipynb").write_text(json.dumps(nb))
    return "explorer.ipynb"


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture()
def browser_tools():
    """(chromium path, playwright's ``sync_playwright``); skips (or fails under CI) before any server starts."""
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright (python) is not installed")
    return chromium, sync_playwright


@pytest.fixture()
def jupyterlab(tmp_path):
    """A JupyterLab server on a free loopback port, rooted in ``tmp_path``; stopped with its kernels afterwards."""
    root, state = tmp_path / "root", tmp_path / "state"
    root.mkdir()
    (state / "settings").mkdir(parents=True)
    (state / "settings" / "overrides.json").write_text(json.dumps(LAB_OVERRIDES))
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(state / "runtime"), "JUPYTER_CONFIG_DIR": str(state / "config"),
           "IPYTHONDIR": str(state / "ipython"), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--port-retries=0", "--allow-root", "--ServerApp.token=", "--ServerApp.password=",
           "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
           f"--LabApp.app_settings_dir={state / 'settings'}", f"--LabApp.user_settings_dir={state / 'user'}",
           f"--LabApp.workspaces_dir={state / 'workspaces'}", f"--ServerApp.root_dir={root}"]
    log = open(tmp_path / "jupyterlab.log", "wb")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{url}/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
                time.sleep(0.3)
        yield url, root
    finally:
        try:  # shut the kernels down through the API first, then the server (SIGTERM also stops its kernels)
            for kernel in _get(f"{url}/api/kernels") or []:
                request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}", method="DELETE")
                urllib.request.urlopen(request, timeout=10).close()
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


@contextlib.contextmanager
def _running(browser_tools, url: str, name: str, height: int):
    """A headless chromium page on notebook ``name`` in JupyterLab, every cell run; the browser closes afterwards."""
    chromium, sync_playwright = browser_tools
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": height})
            page.goto(f"{url}/lab/tree/{name}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_function(KERNEL_IDLE_JS, timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            yield page
        finally:
            browser.close()


def test_moving_s_in_jupyterlab_redraws_the_heatmap(browser_tools, jupyterlab):
    url, root = jupyterlab
    started = time.monotonic()
    with _running(browser_tools, url, _explorer_notebook(root), height=1000) as page:
        explorer = page.locator(".ardiff-timestep-explorer")
        explorer.first.wait_for(timeout=60_000)
        matrix = explorer.first.locator("img").first  # the heatmap: the first image of the widget
        info = explorer.first.locator(".ardiff-explorer-info").first
        info.wait_for(timeout=30_000)
        page.wait_for_function("(el) => el.getAttribute('src')", arg=matrix.element_handle(), timeout=30_000)
        src_before, info_before = matrix.get_attribute("src"), info.inner_text()
        assert "NFE = " in info_before

        slider = explorer.first.locator(".widget-slider", has_text="AR step s").first
        s_before = int(slider.locator(".widget-readout").first.inner_text().strip())
        slider.locator(".noUi-handle").first.click()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([el, want]) => el.querySelector('.widget-readout').textContent.trim() === want",
            arg=[slider.element_handle(), str(s_before + 1)], timeout=30_000)
        page.wait_for_function("([el, before]) => el.getAttribute('src') !== before",
                               arg=[matrix.element_handle(), src_before], timeout=30_000)
        page.wait_for_function("([el, before]) => el.innerText !== before",
                               arg=[info.element_handle(), info_before], timeout=30_000)
        assert matrix.get_attribute("src") != src_before
        assert "NFE = " in info.inner_text() and f"*{s_before + 1} = " in info.inner_text()  # S + (F-1)*s
        ARTIFACTS.mkdir(exist_ok=True)
        explorer.first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "explorer_browser.png"))
    assert time.monotonic() - started < 120


LIVE_CELLS = ["from ardiff_edu.explorer import LiveSampler",
              "sampler = LiveSampler(num_frames=8, num_steps=5, s=1, iteration=3)\nsampler"]


def _live_notebook(root: Path) -> str:
    """A two-cell notebook that shows the LiveSampler with the shipped checkpoint (small settings)."""
    nb = json.loads(NOTEBOOK.read_text())                 # the kernelspec and metadata of a real notebook
    nb["cells"] = [{"cell_type": "code", "execution_count": None, "id": f"live-{i}", "metadata": {}, "outputs": [],
                    "source": src} for i, src in enumerate(LIVE_CELLS)]
    (root / "live.ipynb").write_text(json.dumps(nb))
    return "live.ipynb"


def test_moving_the_iteration_in_jupyterlab_redraws_the_live_sampler_frames(browser_tools, jupyterlab):
    url, root = jupyterlab
    started = time.monotonic()
    with _running(browser_tools, url, _live_notebook(root), height=1100) as page:
        sampler = page.locator(".ardiff-live-sampler").first
        sampler.wait_for(timeout=90_000)
        frames = sampler.locator("img").nth(1)                # the staircase first, then the frame strips
        info = sampler.locator(".ardiff-live-info").first
        info.wait_for(timeout=30_000)
        page.wait_for_function("(el) => el.getAttribute('src')", arg=frames.element_handle(), timeout=30_000)
        src_before, info_before = frames.get_attribute("src"), info.inner_text()
        assert "NFE = 12" in info_before and "iteration 3 of 11" in info_before and "runs so far: 1" in info_before

        slider = sampler.locator(".widget-slider", has_text="iteration").first
        slider.locator(".noUi-handle").first.click()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([el]) => el.querySelector('.widget-readout').textContent.trim() === '4'",
            arg=[slider.element_handle()], timeout=30_000)
        page.wait_for_function("([el, before]) => el.getAttribute('src') !== before",
                               arg=[frames.element_handle(), src_before], timeout=30_000)
        page.wait_for_function("(el) => el.innerText.includes('iteration 4 of 11')", arg=info.element_handle(),
                               timeout=30_000)
        assert frames.get_attribute("src") != src_before
        assert "runs so far: 1" in info.inner_text()          # scrubbing redrew without sampling again
        ARTIFACTS.mkdir(exist_ok=True)
        sampler.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "live_sampler_browser.png"))
    assert time.monotonic() - started < 150
