"""What an agency writes onto a client's reports: notes on dates and the report settings.

The views call these; nothing else writes ReportNote or ReportSettings rows.
"""

from __future__ import annotations

from ..models import Client, ReportNote, ReportSettings


def add_note(form, *, client: Client, author) -> ReportNote:
    """A valid NoteForm's note on `client`'s reports."""
    note = form.save(commit=False)
    note.agency_id, note.client, note.created_by = client.agency_id, client, author
    note.save()
    return note


def remove_note(note: ReportNote) -> None:
    note.delete()


def save_settings(form) -> ReportSettings:
    """A valid ReportSettingsForm (its instance carries the client and agency)."""
    return form.save()
