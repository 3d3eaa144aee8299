"""The report's range picker, its notes and its per-client settings."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError

from accounts.text import clean_name

from ..models import Compare, RangePreset, ReportNote, ReportSettings
from .periods import MAX_DAYS


class RangeForm(forms.Form):
    """A GET form: bad input falls back to the client's default range, never to an error page."""

    range = forms.ChoiceField(choices=RangePreset.choices, required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    compare = forms.ChoiceField(choices=Compare.choices, required=False)

    def __init__(self, data, *, today: date, settings: ReportSettings | None):
        self.today = today
        self.default_range = settings.default_range if settings else RangePreset.LAST_28
        self.default_compare = settings.default_compare if settings else Compare.PREVIOUS
        super().__init__(data if any(k in data for k in self.base_fields) else None)
        if not self.is_bound:
            self.initial = {"range": self.default_range, "compare": self.default_compare}

    def clean(self):
        data = super().clean()
        preset = data.get("range") or self.default_range
        data["range"] = preset
        data["compare"] = data.get("compare") or self.default_compare
        if preset == RangePreset.CUSTOM:
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise ValidationError("Give both dates of a custom range.")
            if end < start:
                raise ValidationError("The range ends before it starts.")
            if end > self.today:
                raise ValidationError("A range cannot end in the future.")
            if (end - start).days + 1 > MAX_DAYS:
                raise ValidationError("A range covers at most two years.")
        return data

    def choice(self) -> dict:
        """What was chosen, as insights.reports.request.resolve's arguments (preset, or start
        and end, and compare); the client's defaults when unbound or invalid."""
        if self.is_bound and self.is_valid():
            data = self.cleaned_data
            if data["range"] == RangePreset.CUSTOM:
                return {"start": data["start"], "end": data["end"], "compare": data["compare"]}
            return {"preset": data["range"], "compare": data["compare"]}
        return {"preset": self.default_range, "compare": self.default_compare}


class NoteForm(forms.ModelForm):
    class Meta:
        model = ReportNote
        fields = ["day", "text"]
        widgets = {
            "day": forms.DateInput(attrs={"type": "date", "id": "id_note_day"}),
            "text": forms.TextInput(
                attrs={"id": "id_note_text", "placeholder": "Spring campaign starts"}
            ),
        }

    def clean_text(self) -> str:
        text = clean_name(self.cleaned_data["text"])  # one line, no bidi or control characters
        if not text:
            raise ValidationError("Write the note.")
        return text

    def clean_day(self) -> date:
        day = self.cleaned_data["day"]
        if not date(2010, 1, 1) <= day <= date.today() + timedelta(days=366):
            raise ValidationError("Pick a date between 2010 and next year.")
        return day


class ReportSettingsForm(forms.ModelForm):
    class Meta:
        model = ReportSettings
        fields = ["engagement_formula", "default_range", "default_compare"]
        labels = {
            "engagement_formula": "Engagement rate",
            "default_range": "Reports open on",
            "default_compare": "Compared with",
        }
        help_texts = {
            "engagement_formula": "Both are per post, averaged over the posts published in the "
            "period: by reach divides each post's interactions by that post's reach, by "
            "followers by the account's followers at the end of the period. The formula is "
            "printed in the report's glossary."
        }
