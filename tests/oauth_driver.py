"""Clicking through the sandbox's OAuth dialogs over real HTTP, the way a browser would:
parse the page's form, keep its hidden fields and ticked boxes, make a choice, submit."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": a.get("method", "get"),
                               "hidden": [], "boxes": [], "buttons": [], "texts": []})
            return
        if not self.forms:
            return
        form = self.forms[-1]
        kind = a.get("type", "text" if tag == "input" else "submit")
        if tag == "input" and kind == "hidden":
            form["hidden"].append((a.get("name"), a.get("value", "")))
        elif tag == "input" and kind in ("checkbox", "radio"):
            form["boxes"].append((a.get("name"), a.get("value", "on"), "checked" in a,
                                  "disabled" in a))
        elif tag == "input" and kind == "text":
            form["texts"].append(a.get("name"))
        elif tag == "button" and a.get("name"):
            form["buttons"].append((a.get("name"), a.get("value", "")))


def parse_forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if f["method"].lower() == "post"]


def click_through(http: requests.Session, url: str, *, login: str | None = None,
                  username: str | None = None, pages: list[str] | None = None,
                  untick: tuple[str, ...] = (), cancel: bool = False, max_steps: int = 8) -> str:
    """Drive a sandbox dialog from `url` to its final redirect; return the redirect URL."""
    response = http.get(url, allow_redirects=False, timeout=30)
    for _ in range(max_steps):
        if response.is_redirect:
            return response.headers["Location"]
        assert response.status_code == 200, f"dialog answered {response.status_code}"
        forms = parse_forms(response.text)
        form = _pick_form(forms, login=login, username=username)
        data = list(form["hidden"])
        for name, value, checked, disabled in form["boxes"]:
            if disabled:
                continue  # browsers do not send disabled boxes
            if name == "page" and pages is not None:
                if value in pages:
                    data.append((name, value))
            elif checked and value not in untick:
                data.append((name, value))
        if "login" in form["texts"] or any(b[0] == "login" for b in form["buttons"]):
            data.append(("login", login or ""))
        elif "username" in form["texts"] or any(b[0] == "username" for b in form["buttons"]):
            data.append(("username", username or ""))
        else:
            actions = [v for n, v in form["buttons"] if n == "action"]
            choice = "cancel" if cancel else next(a for a in actions if a != "cancel")
            data.append(("action", choice))
        response = http.post(urljoin(response.url, form["action"]), data=data,
                             allow_redirects=False, timeout=30)
    raise AssertionError("the dialog did not finish")


def _pick_form(forms: list[dict], *, login, username) -> dict:
    """The dialog's main form (the one a person would use for the current step)."""
    for form in forms:
        hidden = dict(form["hidden"])
        if hidden.get("step") == "facebook" and not (login and not username):
            continue  # Instagram's "log in with Facebook" alternative
        if hidden.get("step") == "login" and login is None:
            continue
        if "dialog" in hidden:
            return form
    raise AssertionError(f"no dialog form among {len(forms)} forms")
