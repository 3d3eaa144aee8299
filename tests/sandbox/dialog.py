"""Driving the sandbox's OAuth dialogs like a browser would: parse the real forms (hidden
fields, ticked checkboxes, submit buttons) and post them back with the session's cookies."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # hidden, text, checked boxes
    checkboxes: dict[str, list[tuple[str, bool, bool]]] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, label

    def button(
        self, label: str | None = None, *, name: str | None = None, value: str | None = None
    ):
        for b_name, b_value, b_label in self.buttons:
            if (
                (label is None or b_label == label)
                and (name is None or b_name == name)
                and (value is None or b_value == value)
            ):
                return b_name, b_value
        raise AssertionError(f"no button {label or value!r} in {self.buttons}")

    def box_values(self, name: str) -> list[str]:
        return [value for value, _, _ in self.checkboxes.get(name, [])]

    def ticked(self, name: str) -> list[str]:
        return [value for value, checked, _ in self.checkboxes.get(name, []) if checked]

    def disabled(self, name: str) -> list[str]:
        return [value for value, _, disabled in self.checkboxes.get(name, []) if disabled]


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self._button: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(action=a.get("action", "")))
        elif tag == "input" and self.forms:
            form, kind = self.forms[-1], a.get("type", "text")
            if kind == "checkbox":
                entry = (a.get("value", "on"), "checked" in a, "disabled" in a)
                form.checkboxes.setdefault(a["name"], []).append(entry)
            elif kind in ("hidden", "text") and "name" in a:
                form.fields.append((a["name"], a.get("value", "")))
        elif tag == "button" and self.forms and a.get("type", "submit") == "submit":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data):
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            name, value, label = self._button
            self.forms[-1].buttons.append((name, value, " ".join(label.split())))
            self._button = None


def forms(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms


def form_with(html: str, *, button: str | None = None, field_name: str | None = None) -> Form:
    """The first form holding a button labelled `button` / a field named `field_name`."""
    for form in forms(html):
        if button and any(label == button or value == button for _, value, label in form.buttons):
            return form
        if field_name and any(n == field_name for n, _ in form.fields):
            return form
    raise AssertionError(f"no form with {button or field_name!r}")


def submit(
    http: requests.Session,
    page_url: str,
    form: Form,
    button: tuple[str, str] | None = None,
    *,
    fill: dict[str, str] | None = None,
    untick: tuple[str, ...] = (),
    tick: dict[str, list[str]] | None = None,
) -> requests.Response:
    """POST the form as a browser would: ticked, enabled boxes only (disabled inputs are never
    sent), the pressed button's name=value, no redirect following."""
    data = [(n, (fill or {}).get(n, v)) for n, v in form.fields]
    for name, boxes in form.checkboxes.items():
        chosen = (tick or {}).get(name)
        for value, checked, disabled in boxes:
            on = value in chosen if chosen is not None else checked and value not in untick
            if on and not disabled:
                data.append((name, value))
    if button and button[0]:
        data.append(button)
    return http.post(urljoin(page_url, form.action), data=data, allow_redirects=False, timeout=30)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def fragment(url: str) -> str:
    return urlsplit(url).fragment


# --- Whole flows --------------------------------------------------------------------------------

REDIRECT_URI = "https://prism.example.com/connect/callback/"
FB_SCOPE = "instagram_basic,instagram_manage_insights,pages_show_list,pages_read_engagement"
IG_SCOPE = "instagram_business_basic,instagram_business_manage_insights"


def facebook_dialog_url(sandbox, **overrides) -> str:
    from django.conf import settings

    params = {
        "client_id": settings.SANDBOX_FACEBOOK_APP_ID,
        "redirect_uri": REDIRECT_URI,
        "state": "st-123",
        "response_type": "code",
        "scope": FB_SCOPE,
        **overrides,
    }
    request = requests.Request(
        "GET",
        sandbox.url("www.facebook.com", "v25.0/dialog/oauth"),
        params={k: v for k, v in params.items() if v is not None},
    )
    return request.prepare().url


def instagram_dialog_url(sandbox, **overrides) -> str:
    from django.conf import settings

    params = {
        "force_reauth": "true",
        "client_id": settings.SANDBOX_INSTAGRAM_APP_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": IG_SCOPE,
        "state": "ig-state",
        **overrides,
    }
    request = requests.Request(
        "GET",
        sandbox.url("www.instagram.com", "oauth/authorize"),
        params={k: v for k, v in params.items() if v is not None},
    )
    return request.prepare().url


def facebook_flow(
    sandbox,
    login: str,
    *,
    pages: list[str] | None = None,
    untick=(),
    url=None,
    http: requests.Session | None = None,
) -> requests.Response:
    """GET the dialog, sign in as `login`, keep `pages` (None = as offered), untick
    permissions, Continue. Returns the final 302."""
    http = http or requests.Session()
    url = url or facebook_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    assert first.status_code == 200, first.text[:500]
    people = form_with(first.text, button=login)
    second = submit(http, url, people, people.button(value=login))
    assert second.status_code == 200, second.text[:500]
    page_form = form_with(second.text, button="Continue")
    tick = {"page": pages} if pages is not None else None
    third = submit(http, url, page_form, page_form.button("Continue"), tick=tick)
    assert third.status_code == 200, third.text[:500]
    perm_form = form_with(third.text, button="Continue")
    return submit(http, url, perm_form, perm_form.button("Continue"), untick=tuple(untick))


def instagram_flow(sandbox, username: str, *, untick=(), url=None) -> requests.Response:
    http = requests.Session()
    url = url or instagram_dialog_url(sandbox)
    first = http.get(url, timeout=30)
    assert first.status_code == 200, first.text[:500]
    accounts = form_with(first.text, button=username)
    second = submit(http, url, accounts, accounts.button(value=username))
    assert second.status_code == 200, second.text[:500]
    consent = form_with(second.text, button="Allow")
    return submit(http, url, consent, consent.button("Allow"), untick=tuple(untick))
