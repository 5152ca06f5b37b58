"""The walk-through's browser side: a role's two windows (a 390 px phone and a 1366 px desktop),
the pages its menu offers and one level below, the checks on each page and the screenshots.

A *hub* is a page that is itself a menu (the landing page after login, the counter's tiles,
全部服务, the back office index): every link on a hub is a menu entry and is visited. A link on a
menu entry's page is visited once per kind of page (the first vehicle, the first violation, the
first case), and the pages found there are not followed further. Files (PDF, PNG) are fetched
to check that the link works, not shown.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from .walkthrough_checks import (
    INSPECT_JS,
    UNAVAILABLE_PATTERN,
    dead_end_problems,
    layout_problems,
    pdf_problems,
    stored_choice_codes,
    text_problems,
)

REPOSITORY = Path(__file__).resolve().parents[2]
WIDTHS = {"phone": (390, 844), "desktop": (1366, 900)}
HUB_PATHS = frozenset({"/", "/counter/", "/services/", "/admin/"})
FILE_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".txt", ".csv", ".json", ".zip", ".svg")
# Not pages of a role's menu: leaving, switching language or mode (forms, not links), the
# demo's SMS inbox, the API, static files, and the back office's own account and add/delete
# forms, filters and sorting (the same list again).
_SKIP_PREFIXES = ("/logout/", "/i18n/", "/elder-mode/", "/demo/", "/api/", "/static/", "/media/")
_ADMIN_SKIP = re.compile(r"^/admin/(logout|password_change|jsi18n|r|autocomplete)/|/(add|delete|history)/$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def screenshot_root() -> Path:
    configured = os.environ.get("JIAOGUAN_SCREENSHOT_DIR")
    return Path(configured).resolve() if configured else REPOSITORY / "var" / "walkthrough"


def relative(href: str, origin: str) -> str | None:
    """The link as path + query when it stays on the site and is a page of the walk, else None."""
    if not href or href.startswith(("mailto:", "tel:", "javascript:")):
        return None
    parts = urlsplit(href)
    if parts.scheme and f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    path = parts.path or "/"
    if path.startswith(_SKIP_PREFIXES):
        return None
    if path.startswith("/admin/") and (parts.query or _ADMIN_SKIP.search(path)):
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return path + (f"?{query}" if query else "")


def pattern(url: str) -> str:
    """The kind of page: ids and query values blanked (``/violations/#/``, ``/violations/?status=``)."""
    parts = urlsplit(url)
    path = _UUID.sub("*", parts.path)
    path = re.sub(r"/\d+(?=/|$|\.)", "/#", path)
    keys = sorted(k for k, _v in parse_qsl(parts.query, keep_blank_values=True))
    return path + ("?" + "&".join(f"{k}=" for k in keys) if keys else "")


def is_file(url: str) -> bool:
    path = urlsplit(url).path
    return path.endswith(FILE_SUFFIXES) or path.endswith("/photo")


def slug(url: str) -> str:
    parts = urlsplit(url)
    text = parts.path.strip("/") or "home"
    if parts.query:
        text += "-q-" + parts.query
    text = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "-", text).strip("-")
    return text[:90] or "home"


@dataclass
class Finding:
    page: str
    problem: str


@dataclass
class Walk:
    """One role's walk: two logged-in windows, the pages seen and every problem found."""

    role: str
    browser: object
    base_url: str
    chinese_ui: bool = True
    logged_in: bool = False
    findings: list[Finding] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    seen_patterns: set[str] = field(default_factory=set)
    alternatives: list[str] = field(default_factory=list)
    ignore: set[str] = field(default_factory=set)  # the user's own login name: data, not a code
    _errors: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder = screenshot_root() / self.role
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.codes = stored_choice_codes()
        self.pages = {}
        self.contexts = []
        for name, (width, height) in WIDTHS.items():
            self._open(name, width, height)

    def _open(self, name: str, width: int, height: int, storage_state: dict | None = None) -> None:
        context = self.browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": width, "height": height},
            locale="zh-CN",
            base_url=self.base_url,
            storage_state=storage_state,
        )
        page = context.new_page()
        page.set_default_timeout(20000)
        errors: list[str] = []

        def on_console(message) -> None:
            # The document's own status is reported as such; its echo on the console is not news.
            source = (message.location or {}).get("url", "")
            if message.type == "error" and not (
                message.text.startswith("Failed to load resource") and source == page.url
            ):
                errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"uncaught {error}"))
        self._errors[name] = errors
        self.pages[name] = page
        self.contexts.append(context)

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    # ------------------------------------------------------------ logging in

    def log_in(self, username: str, password: str) -> str:
        """Log in on the phone as a person would, then give the desktop window the same session."""
        phone = self.pages["phone"]
        phone.goto("/login/")
        phone.fill("#id_account", username)
        phone.fill("#id_password", password)
        with phone.expect_navigation():
            phone.get_by_role("button", name="登录", exact=True).click()
        landing = relative(phone.url, self.origin) or "/"
        assert landing != "/login/", f"{self.role}: could not log in as {username}"
        self.logged_in = True
        self.ignore.add(username)
        self.share_session()
        return landing

    def share_session(self) -> None:
        """Give the desktop window the phone's cookies (login, language, elder-care mode)."""
        state = self.pages["phone"].context.storage_state()
        self.contexts.pop().close()
        self._open("desktop", *WIDTHS["desktop"], storage_state=state)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    # ------------------------------------------------------------ pages

    def note(self, page: str, problem: str) -> None:
        if not any(f.page == page and f.problem == problem for f in self.findings):
            self.findings.append(Finding(page, problem))

    def crawl(self, entry: str, extra: list[str] | None = None) -> None:
        """Visit the entry (a hub), the menu it offers, the extra pages (searches a person would
        make), and one page of each kind linked from the menu's pages."""
        queue: list[tuple[str, int]] = [(entry, 0)]
        queue += [(url, 1) for url in extra or []]
        queued = {url for url, _depth in queue}
        while queue or any(a not in queued for a in self.alternatives):
            if not queue:
                alternative = next(a for a in self.alternatives if a not in queued)
                queued.add(alternative)
                queue.append((alternative, 2))
            url, depth = queue.pop(0)
            links = self.visit(url)
            if depth >= 2:
                continue
            for link in links:
                if link in queued:
                    continue
                hub = depth == 0 or (urlsplit(url).path in HUB_PATHS and not urlsplit(url).query)
                kind = pattern(link)
                # Records (ids) are seen once per kind even on a hub: the home's eight vehicle
                # cards are one page of one kind; business codes (B1 ... B23) are menu entries.
                by_kind = not hub or "#" in kind or "*" in kind
                if by_kind:
                    if kind in self.seen_patterns:
                        continue
                    self.seen_patterns.add(kind)
                queued.add(link)
                queue.append((link, 1 if hub else 2))

    def visit(self, url: str) -> list[str]:
        """Open the page in both windows, check and photograph it; returns the links to follow."""
        self.seen_patterns.add(pattern(url))
        if is_file(url):
            self.fetch(url)
            return []
        links: list[str] = []
        for name, page in self.pages.items():
            self._errors[name].clear()
            try:
                response = page.goto(url, wait_until="load")
            except Exception as error:  # a download, or the server did not answer
                if "Download is starting" in str(error):
                    self.fetch(url)
                else:
                    self.note(url, f"could not be opened: {str(error).splitlines()[0]}")
                return []
            status = response.status if response is not None else 0
            content_type = response.headers.get("content-type", "") if response is not None else ""
            if "html" not in content_type:
                self.fetch(url)
                return []
            final = relative(page.url, self.origin) or page.url
            if urlsplit(final).path == "/login/" and urlsplit(url).path != "/login/":
                if self.logged_in:
                    self.note(url, "sends a logged-in user to the login page")
                return []  # an anonymous visitor is asked to log in: the login page is a nav entry of its own
            if final != url and final in self.visited:
                return []  # sent on to a page already walked (the staff's home is the counter)
            found = self.check(page, url, name, status=status)
            if name == "phone":
                links = found
        return links

    def check(self, page, url: str, window: str, *, status: int, label: str = "") -> list[str]:
        """Every rule on the page as shown now; a screenshot; the links on it (phone window)."""
        if url not in self.visited:
            self.visited.append(url)
        where = label or url
        if status >= 400:
            self.note(where, f"answers {status} (a menu link to an error is a dead end)")
        info = page.evaluate(INSPECT_JS, UNAVAILABLE_PATTERN)
        width = WIDTHS[window][0]
        for problem in layout_problems(info):
            self.note(where, f"{problem}" if "h1" in problem else f"{problem} ({width} px)")
        for error in self._errors[window]:
            self.note(where, f"console error at {width} px: {error[:200]}")
        if window == "phone":
            for problem in text_problems(
                info["texts"], codes=self.codes, chinese_ui=self.chinese_ui, ignore=self.ignore
            ):
                self.note(where, problem)
            for problem in dead_end_problems(info["deadEnds"]):
                self.note(where, problem)
        name = slug(label or url)
        page.screenshot(path=str(self.folder / f"{name}-{width}.png"), full_page=True)
        if window != "phone":
            return []
        found: list[str] = []
        for link in info["links"]:
            target = relative(link["href"], self.origin)
            if target is None or target == url:
                continue
            if (link["download"] or is_file(target)) and not self.fetch(target):
                continue
            if target not in found:
                found.append(target)
        # What an .alternative offers must work too: those links are opened wherever they are.
        for dead_end in info["deadEnds"]:
            for href in dead_end["links"]:
                target = relative(href, self.origin)
                if target and target not in self.alternatives:
                    self.alternatives.append(target)
        return found

    def fetch(self, url: str) -> None:
        """A file link (PDF, image, or a link that opens in a new tab): it must answer, with the
        session of the phone window; a PDF is read like a page. A page opened in a new tab is
        left to the walk: returns True for one."""
        if url in self.files:
            return False
        response = self.pages["phone"].request.get(self.origin + url, max_redirects=0)
        content_type = response.headers.get("content-type", "")
        if response.status < 300 and "html" in content_type:
            return True
        self.files.append(url)
        if response.status >= 300:
            self.note(url, f"file link answers {response.status}")
        elif "pdf" in content_type:
            for problem in pdf_problems(response.body(), codes=self.codes):
                self.note(url, problem)
        return False

    def act(self, label: str, steps: Callable[[object], None]) -> None:
        """Something a person does on a page (a form sent): done in both windows, then checked."""
        for name, page in self.pages.items():
            self._errors[name].clear()
            steps(page)
            page.wait_for_load_state("load")
            self.check(page, label, name, status=200, label=label)

    # ------------------------------------------------------------ the report

    def report(self) -> str:
        lines = [
            f"{self.role}: {len(self.findings)} problems on "
            f"{len({f.page for f in self.findings})} of {len(self.visited)} pages "
            f"(screenshots in {self.folder})"
        ]
        order = {page: i for i, page in enumerate(self.visited)}
        for finding in sorted(self.findings, key=lambda f: order.get(f.page, len(order))):
            lines.append(f"  {finding.page} → {finding.problem}")
        return "\n".join(lines)

    def pages_walked(self) -> str:
        return "\n".join([f"{self.role}: pages walked", *(f"  {url}" for url in self.visited)])
