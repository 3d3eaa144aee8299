"""Issue #8: icons are Prism's inline SVG (partials/icon.html), never emoji, which draw only
where an emoji font is installed (or as empty boxes, in PDFs and many Linux browsers)."""

import re
from pathlib import Path

from django.conf import settings

# Pictographs and the symbols that render as emoji (with or without the variation selector).
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u231a-\u23ff\ufe0f]")


def test_no_template_or_static_file_draws_an_icon_with_an_emoji():
    base = Path(settings.BASE_DIR)
    files = [
        *(base / "templates").rglob("*.html"),
        *(base / "templates").rglob("*.txt"),
        *(base / "static" / "prism").rglob("*.css"),
        *(base / "static" / "prism").rglob("*.js"),
    ]
    assert len(files) > 50
    found = [
        f"{path.relative_to(base)}:{n}: {match.group()!r}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in EMOJI.finditer(line)
    ]
    assert found == []
