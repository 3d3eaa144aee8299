"""Names people type: shown to others on pages, in emails and in reports, so they must not
reorder the text around them (bidi controls, "Trojan Source" style) or carry control characters."""

from __future__ import annotations

import re

from django import forms

# Arabic letter mark, LRM/RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI, and C0/C1 controls.
_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\x00-\x1f\x7f-\x9f]")


def clean_name(value: str) -> str:
    """The name without bidi or control characters, runs of whitespace (line breaks and tabs
    included) made one space."""
    return " ".join(_CONTROLS.sub("", " ".join((value or "").split())).split())


def clean_text(value: str) -> str:
    """Text of several lines (a footer): bidi and control characters removed, line breaks kept
    (as "\n"), each line's runs of whitespace made one space, empty lines at the ends dropped."""
    lines = (value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(clean_name(line) for line in lines).strip("\n")


class NameField(forms.CharField):
    """A person's, agency's or client's name: cleaned as above; empty after cleaning is empty."""

    def to_python(self, value):
        return clean_name(super().to_python(value))
