"""A person at a browser without JavaScript, over the real network path (``requests`` through the CONNECT proxy,
TLS checked against the test CA): opens pages, fills in the forms the page itself carries (its hidden fields and
CSRF token included) and sends them with the page as Referer, as a browser does (Flask-WTF checks the Referer
against the host over HTTPS, so a wrong forwarded host fails here as it would for a resident)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

PHONE_AGENT = ("Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/120.0.0.0 Mobile Safari/537.36")
DESKTOP_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                          "fields": {}, "names": set()}
            self.forms.append(self._form)
            return
        f = self._form
        if f is not None and tag == "option" and self._select:
            if "selected" in a or self._select not in f["fields"]:
                f["fields"][self._select] = a.get("value", "")
            return
        if f is None or "name" not in a:
            return
        name = a["name"]
        f["names"].add(name)
        if tag in ("button",) or (tag == "input" and (a.get("type") or "").lower() in ("submit", "button")):
            return  # a named button is sent only when it is the one pressed: submit(..., {name: value})
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            f["fields"][name] = a.get("value", "on" if kind in ("checkbox", "radio") else "")
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            f["fields"][name] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            value = self._form["fields"][self._textarea] if self._form is not None else ""
            if self._form is not None and value.startswith("\n"):  # as HTML parsing drops it
                self._form["fields"][self._textarea] = value[1:]
            self._textarea = None


def forms_of(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def text_of(html: str) -> str:
    """The page's text, tags dropped and white space folded (what a reader sees, roughly)."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&amp;", "&").strip()


class _FromAddress(HTTPAdapter):
    """Connections leave from one loopback address of 127.0.0.0/8, so each person has an address of their own."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        super().init_poolmanager(connections, maxsize, block, source_address=(self.address, 0), **pool_kwargs)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        return super().proxy_manager_for(proxy, source_address=(self.address, 0), **proxy_kwargs)


class Visitor:
    """One person's browser: its own cookies, a User-Agent, the last page seen, and its own client address
    (``address``, on the loopback network): the proxies pass it on as nginx does, in X-Forwarded-For."""

    def __init__(self, base: str, proxy_url: str, ca_file, *, agent: str = DESKTOP_AGENT,
                 address: str = "127.0.0.1"):
        self.base = base
        self.address = address
        self.session = requests.Session()
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, _FromAddress(address))
        self.session.trust_env = False  # only the proxy given here, whatever the test machine's environment says
        self.session.proxies = {"https": proxy_url, "http": proxy_url}
        self.session.verify = str(ca_file)
        self.session.headers["User-Agent"] = agent
        self.session.headers["Accept-Language"] = "id-ID,id;q=0.9"
        self.url = base + "/"
        self.html = ""
        self.status = 0

    def _seen(self, resp: requests.Response) -> requests.Response:
        self.url, self.status = resp.url, resp.status_code
        if resp.headers.get("Content-Type", "").startswith("text/html"):
            self.html = resp.text
        return resp

    def get(self, path: str, **kw) -> requests.Response:
        return self._seen(self.session.get(urljoin(self.url, path), timeout=60, **kw))

    @property
    def text(self) -> str:
        return text_of(self.html)

    def form(self, action: str | re.Pattern) -> dict:
        """The form of the current page whose action ends with ``action`` (or matches the pattern)."""
        found = [f for f in forms_of(self.html)
                 if (action.search(f["action"]) if isinstance(action, re.Pattern)
                     else urlsplit(urljoin(self.url, f["action"])).path.endswith(action))]
        assert found, f"no form {action!r} on {self.url}: {[f['action'] for f in forms_of(self.html)]}"
        return found[0]

    def submit(self, action: str | re.Pattern, fields: dict | None = None, files: dict | None = None,
               *, drop: tuple = ()) -> requests.Response:
        """Fill in and send a form of the current page as its submit button would."""
        form = self.form(action)
        for name in (fields or {}):
            assert name in form["names"], f"{name!r} is not a field of {form['action']}: {sorted(form['names'])}"
        data = {k: v for k, v in form["fields"].items() if k not in drop}
        data.update(fields or {})
        target = urljoin(self.url, form["action"] or self.url)
        if form["method"] == "get":
            return self.get(target, params=data)
        resp = self.session.post(target, data=data, files=files, headers={"Referer": self.url}, timeout=120)
        return self._seen(resp)

    def post(self, path: str, data: dict | None = None) -> requests.Response:
        """A POST a page's button makes (a bare form with the page's CSRF token)."""
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.html).group(1)
        resp = self.session.post(urljoin(self.url, path), data={"csrf_token": token, **(data or {})},
                                 headers={"Referer": self.url}, timeout=120)
        return self._seen(resp)


def options(html: str, name: str) -> list[tuple[str, str]]:
    """(value, text) of each option of the select ``name`` in ``html``."""
    block = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert block, f"no select {name!r}"
    return [(v, text_of(t)) for v, t in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>(.*?)</option>', block.group(1),
                                                   re.S)]


def checklist(html: str) -> dict[str, tuple[str, str]]:
    """The "Siap melayani" page's steps: {key: (badge, text of the step)}."""
    found = {}
    for key, body in re.findall(r'<li id="([a-z_]+)">(.*?)</li>\s*(?=<li id=|</ol>)', html, re.S):
        badge = re.search(r'class="badge [a-z]+">([^<]+)<', body)
        found[key] = (badge.group(1) if badge else "", text_of(body))
    return found
