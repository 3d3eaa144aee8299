"""Prism's side of the sandbox dialogs: click through from the URL Prism redirected to, with
the browser session that started the connection (the form handling is tests/sandbox/dialog.py)."""

from __future__ import annotations

import requests

from .sandbox.dialog import form_with, forms, submit


def click_through(
    http: requests.Session,
    url: str,
    *,
    login: str | None = None,
    username: str | None = None,
    pages: list[str] | None = None,
    untick: tuple[str, ...] = (),
    cancel: bool = False,
) -> str:
    """Sign in by typing `login` (Facebook) or `username` (Instagram), keep `pages` (None: as
    offered), untick permissions, then Continue/Allow, or Cancel. Returns the final redirect."""
    first = http.get(url, timeout=30)
    assert first.status_code == 200, first.text[:500]
    field, value = ("login", login) if login is not None else ("username", username)
    response = submit(http, url, form_with(first.text, field_name=field), fill={field: value})
    while not response.is_redirect:
        assert response.status_code == 200, response.text[:500]
        labels = [label for form in forms(response.text) for _, _, label in form.buttons]
        go = "Cancel" if cancel else next(lb for lb in ("Continue", "Allow") if lb in labels)
        form = form_with(response.text, button=go)
        tick = {"page": pages} if pages is not None else None
        response = submit(http, url, form, form.button(go), untick=untick, tick=tick)
    return response.headers["Location"]
