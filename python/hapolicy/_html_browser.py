"""Headless Chromium for the report: screenshots (``python -m hapolicy.report --screenshot``,
docs/report.png) and, for the browser tests, the rendered DOM, console errors and layout checks
over the Chrome DevTools protocol.

Chromium is not a dependency of hapolicy: Debian's ``chromium`` package
(``tests/browser/install-deps.sh`` installs it); ``HAPOLICY_CHROMIUM`` names another binary.
The DevTools part needs ``websocket-client`` (in the ``test`` extra).
"""

from __future__ import annotations

import json
import os
import pathlib

import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BrowserError", "PageCheck", "check_page", "chromium", "dump_dom", "screenshot"]

_TIMEOUT = 60.0


class BrowserError(RuntimeError):
    """Chromium is missing or failed."""


def chromium() -> str:
    """The Chromium binary: ``$HAPOLICY_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on
    the PATH; :class:`BrowserError` naming the installer otherwise."""
    named = os.environ.get("HAPOLICY_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserError("no Chromium found: install Debian's chromium package (tests/browser/install-deps.sh) "
                       "or set HAPOLICY_CHROMIUM to a Chromium binary")


def _flags(profile: str, width: int, height: int) -> list[str]:
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            f"--user-data-dir={profile}", f"--window-size={width},{height}"]


def _url(page: str | pathlib.Path, tmp: str) -> str:
    """A file:// URL for a page given as HTML text or as a path."""
    if isinstance(page, pathlib.Path):
        return page.resolve().as_uri()
    path = pathlib.Path(tmp) / "report.html"
    path.write_text(page, encoding="utf-8")
    return path.as_uri()


def _run(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BrowserError(f"chromium did not finish in {_TIMEOUT:.0f} s: {' '.join(args)}") from exc
    except OSError as exc:
        raise BrowserError(f"cannot run chromium ({args[0]}): {exc.strerror or exc}") from exc
    if done.returncode != 0:
        raise BrowserError(f"chromium failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def screenshot(page: str | pathlib.Path, out: pathlib.Path, width: int = 1280, height: int = 2000) -> pathlib.Path:
    """A PNG of ``page`` (HTML text or a file) in a ``width`` × ``height`` window."""
    out = pathlib.Path(out)
    with tempfile.TemporaryDirectory(prefix="hapolicy-chromium-") as tmp:
        url = _url(page, tmp)
        _run([*_flags(tmp + "/profile", width, height), f"--screenshot={out.resolve()}", url])
    if not out.exists() or out.stat().st_size == 0:
        raise BrowserError(f"chromium wrote no screenshot to {out}")
    return out


def dump_dom(page: str | pathlib.Path, width: int = 1280, height: int = 2000) -> str:
    """The DOM after Chromium loaded ``page`` (``--dump-dom``)."""
    with tempfile.TemporaryDirectory(prefix="hapolicy-chromium-") as tmp:
        url = _url(page, tmp)
        return _run([*_flags(tmp + "/profile", width, height), "--dump-dom", url]).stdout


@dataclass
class PageCheck:
    """What Chromium saw loading a page: console errors and uncaught exceptions (``errors``),
    failed requests (``failed_requests``, any network use of a self-contained page is one),
    elements reaching past the viewport's right edge (``overflowing``, CSS selectors with
    widths), the page's layout width, and the values of extra ``expressions``."""

    errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    overflowing: list[str] = field(default_factory=list)
    client_width: int = 0
    scroll_width: int = 0
    values: dict[str, Any] = field(default_factory=dict)


_OVERFLOW_JS = """(() => {
  const w = document.documentElement.clientWidth;
  const path = e => { const p = []; for (let n = e; n && n.nodeType === 1 && p.length < 4; n = n.parentElement)
      p.unshift(n.tagName.toLowerCase() + (n.id ? '#' + n.id : '') + (n.classList.length ? '.' + [...n.classList].join('.') : ''));
    return p.join(' > '); };
  // Content inside a horizontally scrolling box (wide tables in .table-wrap) is not page overflow.
  const clipped = e => { for (let n = e.parentElement; n; n = n.parentElement) {
      const s = getComputedStyle(n); if (s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden') {
        return n.getBoundingClientRect().right <= w + 1; } } return false; };
  const bad = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 1 && !clipped(e))
    .map(e => path(e) + ' right=' + Math.round(e.getBoundingClientRect().right));
  // Text drawn past the edge of its SVG is cut off by the SVG's viewport.
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.right > box.right + 1 || r.left < box.left - 1) bad.push('svg text "' + t.textContent.slice(0, 40) + '" right=' + Math.round(r.right) + ' svg right=' + Math.round(box.right));
    }
  }
  return JSON.stringify({bad: bad.slice(0, 50), client: w, scroll: document.documentElement.scrollWidth});
})()"""


def check_page(page: str | pathlib.Path, width: int = 1280, height: int = 2000,
               expressions: Sequence[str] = ()) -> PageCheck:
    """Loads ``page`` in headless Chromium over the DevTools protocol (127.0.0.1 only) and
    reports console errors, exceptions, failed or any network requests and right-edge
    overflow at ``width``; evaluates ``expressions`` (JavaScript) after load."""
    import websocket  # websocket-client, in the test extra

    with tempfile.TemporaryDirectory(prefix="hapolicy-chromium-") as tmp:
        url = _url(page, tmp)
        args = [*_flags(tmp + "/profile", width, height), "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", "about:blank"]
        log = open(pathlib.Path(tmp) / "chromium.log", "w+", encoding="utf-8")  # a file: a pipe could fill up
        try:
            # Its own process group: the helpers it spawns (renderer, GPU, zygote) end with it.
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, text=True, start_new_session=True)
        except OSError as exc:
            log.close()
            raise BrowserError(f"cannot run chromium ({args[0]}): {exc.strerror or exc}") from exc
        try:
            port = _devtools_port(proc, pathlib.Path(tmp) / "profile", log)
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
            ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
            ws = websocket.create_connection(ws_url, timeout=_TIMEOUT, suppress_origin=True)
            try:
                return _drive(ws, url, width, height, expressions)
            finally:
                ws.close()
        finally:
            _stop(proc)
            log.close()


def _stop(proc: subprocess.Popen[str]) -> None:
    """Ends the Chromium started here and its process group (nothing else)."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _devtools_port(proc: subprocess.Popen[str], profile: pathlib.Path, log: Any) -> int:
    deadline = time.monotonic() + _TIMEOUT
    port_file = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if port_file.exists():
            first = port_file.read_text().splitlines()[:1]
            if first and first[0].isdigit():
                return int(first[0])
        if proc.poll() is not None:
            log.seek(0)
            err = log.read()
            raise BrowserError(f"chromium exited (status {proc.returncode}) before DevTools started: {err[-2000:]}")
        time.sleep(0.05)
    raise BrowserError("chromium's DevTools endpoint did not start")


def _drive(ws: Any, url: str, width: int, height: int, expressions: Sequence[str]) -> PageCheck:
    result = PageCheck()
    counter = iter(range(1, 1_000_000))
    replies: dict[int, Any] = {}
    loaded = False

    def handle(msg: dict[str, Any]) -> None:
        nonlocal loaded
        method = msg.get("method")
        p = msg.get("params", {})
        if "id" in msg:
            replies[msg["id"]] = msg
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            result.errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                         for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            result.errors.append("exception: " + str(d.get("exception", {}).get("description", d.get("text"))))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            result.errors.append(f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}".rstrip())
        elif method == "Network.requestWillBeSent":
            result.requests.append(p.get("request", {}).get("url", ""))
        elif method == "Network.loadingFailed":
            result.failed_requests.append(f"{p.get('errorText')} (request {p.get('requestId')})")
        elif method == "Page.loadEventFired":
            loaded = True

    def call(method: str, **params: Any) -> Any:
        i = next(counter)
        ws.send(json.dumps({"id": i, "method": method, "params": params}))
        deadline = time.monotonic() + _TIMEOUT
        while i not in replies:
            if time.monotonic() > deadline:
                raise BrowserError(f"no DevTools reply to {method}")
            handle(json.loads(ws.recv()))
        reply = replies.pop(i)
        if "error" in reply:
            raise BrowserError(f"DevTools {method}: {reply['error']}")
        return reply.get("result", {})

    for domain in ("Runtime", "Log", "Page", "Network"):
        call(f"{domain}.enable")
    call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
    call("Page.navigate", url=url)
    deadline = time.monotonic() + _TIMEOUT
    while not loaded:
        if time.monotonic() > deadline:
            raise BrowserError(f"{url} did not finish loading")
        handle(json.loads(ws.recv()))
    layout = json.loads(call("Runtime.evaluate", expression=_OVERFLOW_JS, returnByValue=True)["result"]["value"])
    result.overflowing = list(layout["bad"])
    result.client_width = int(layout["client"])
    result.scroll_width = int(layout["scroll"])
    for expr in expressions:
        r = call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise BrowserError(f"evaluating {expr!r}: {r['exceptionDetails'].get('text')}")
        result.values[expr] = r["result"].get("value")
    # Requests other than the page itself (and data: URLs) mean the page is not self-contained.
    result.requests = [u for u in result.requests if u != url and not u.startswith("data:")]
    return result


