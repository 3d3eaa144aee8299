"""Forms for white label, share links, scheduled reports and client viewers."""

from __future__ import annotations

import re
import secrets

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email

from accounts.models import Membership
from accounts.text import clean_name, clean_text

from .images import reencoded_logo
from .models import WEEKDAYS, AgencyBranding, Frequency, ReportSchedule
from .reports.delivery import MAX_SETTLE_HOURS
from .reports.sharing import DEFAULT_LIFETIME_DAYS, LIFETIME_CHOICES, PRESETS

MAX_RECIPIENTS = 20
NO_SVG = (
    "Upload a PNG, JPEG or WebP image. SVG is not accepted (it can carry scripts and links to "
    "other files): export the logo as a PNG."
)


class BrandingForm(forms.ModelForm):
    logo = forms.ImageField(
        required=False,
        error_messages={"invalid_image": NO_SVG},
        help_text="PNG, JPEG or WebP, up to 1 MB. Shown on reports, shared pages, PDFs and emails.",
        # A plain file input: the page shows the current logo itself (Django's clearable input
        # showed its storage path and a second "clear" box beside "Remove the logo").
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.logo:
            self.fields["logo"].label = "Replace the logo"
        else:
            del self.fields["remove_logo"]  # nothing to remove

    class Meta:
        model = AgencyBranding
        fields = [
            "logo",
            "primary_colour",
            "accent_colour",
            "sender_name",
            "reply_to",
            "footer_text",
            "powered_by",
        ]
        widgets = {
            "primary_colour": forms.TextInput(attrs={"type": "color"}),
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
            "footer_text": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "primary_colour": "Buttons, links and chart accents.",
            "footer_text": "At the bottom of report pages, PDFs and emails.",
            "powered_by": "A small line naming the tool under reports, shared pages and emails. "
            "Off by default: your clients see only your brand.",
        }
        labels = {"powered_by": "Show “Powered by Prism”"}

    def clean_primary_colour(self) -> str:
        return self.cleaned_data["primary_colour"].lower()

    def clean_accent_colour(self) -> str:
        return self.cleaned_data["accent_colour"].lower()

    def clean_sender_name(self) -> str:
        # Becomes an email header's display name: one line, no bidi or control characters.
        return clean_name(self.cleaned_data["sender_name"])

    def clean_footer_text(self) -> str:
        return clean_text(self.cleaned_data["footer_text"])

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if not logo or not hasattr(logo, "image"):
            return logo  # unchanged
        return normalised_logo(logo)

    def save(self, commit: bool = True):
        branding = super().save(commit=False)
        if self.cleaned_data.get("remove_logo") and "logo" not in self.changed_data:
            branding.logo = ""
        if commit:
            branding.save()
        return branding


def normalised_logo(upload) -> SimpleUploadedFile:
    """Check an uploaded logo and store a re-encoded PNG of it (images.reencoded_logo)."""
    return reencoded_logo(upload, refused=NO_SVG)


RANGE_CHOICES = [*PRESETS.items(), ("custom", "Fixed dates")]
COMPARE_CHOICES = [("previous", "Previous period"), ("year", "Same period last year")]


class ShareLinkForm(forms.Form):
    # A random key per rendered form: sending the same form twice (a double click, a reload of
    # the POST) gives back the link it made instead of a second one (sharing.create_share_link).
    form_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    label = forms.CharField(max_length=120, required=False, help_text="Only your team sees it.")
    range = forms.ChoiceField(choices=RANGE_CHOICES, initial="last_28")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    compare = forms.ChoiceField(choices=COMPARE_CHOICES, initial="previous")
    lifetime_days = forms.TypedChoiceField(
        label="Expires after",
        choices=LIFETIME_CHOICES,
        coerce=int,
        initial=DEFAULT_LIFETIME_DAYS,
    )
    password = forms.CharField(
        required=False,
        strip=False,
        min_length=8,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Optional. Visitors type it before they see the report.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["form_key"] = new_form_key()

    def clean_label(self) -> str:
        return clean_name(self.cleaned_data["label"])

    def clean_form_key(self) -> str:
        # Anything but a key this form could have made counts as none (no repeat protection).
        key = self.cleaned_data.get("form_key", "")
        return key if FORM_KEY.fullmatch(key) else ""

    def clean(self):
        data = super().clean()
        if data.get("range") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                self.add_error("start", "Give both dates for a fixed range.")
            elif start > end:
                self.add_error("end", "The end comes before the start.")
            elif (end - start).days > 731:
                self.add_error("end", "A shared report covers at most two years.")
        return data


FORM_KEY = re.compile(r"[A-Za-z0-9_-]{43}")


def new_form_key() -> str:
    return secrets.token_urlsafe(32)


class SharePasswordForm(forms.Form):
    password = forms.CharField(
        strip=False, max_length=128, widget=forms.PasswordInput(attrs={"autofocus": True})
    )


def parse_recipients(text: str) -> list[str]:
    emails = []
    for part in text.replace(";", ",").replace("\n", ",").split(","):
        email = part.strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError as error:
            raise ValidationError(f"{email} is not an email address.") from error
        if email not in emails:
            emails.append(email)
    if not emails:
        raise ValidationError("Add at least one recipient.")
    if len(emails) > MAX_RECIPIENTS:
        raise ValidationError(f"At most {MAX_RECIPIENTS} recipients.")
    return emails


class ScheduleForm(forms.ModelForm):
    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Email addresses, separated by commas or new lines.",
    )
    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, initial=2, required=False)
    day_of_month = forms.TypedChoiceField(
        choices=[(d, str(d)) for d in range(1, 29)], coerce=int, initial=3, required=False
    )
    compare = forms.ChoiceField(choices=COMPARE_CHOICES, initial="previous")

    class Meta:
        model = ReportSchedule
        fields = [
            "frequency",
            "weekday",
            "day_of_month",
            "send_time",
            "settle_hours",
            "recipients",
            "compare",
            "active",
        ]
        widgets = {"send_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        labels = {"settle_hours": "Wait for Meta's data to settle (hours)"}
        help_texts = {
            "send_time": "In the client's time zone.",
            "settle_hours": "Meta keeps adjusting a day's numbers for about two days. The email "
            "waits this long after the period ends.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:  # the list as text (a new schedule's [] showed as a literal "[]")
            self.initial["recipients"] = ", ".join(self.instance.recipients or [])

    def clean_recipients(self) -> list[str]:
        return parse_recipients(self.cleaned_data["recipients"])

    def clean_settle_hours(self) -> int:
        hours = self.cleaned_data["settle_hours"]
        if hours > MAX_SETTLE_HOURS:
            raise ValidationError(f"At most {MAX_SETTLE_HOURS} hours (six days).")
        return hours

    def clean(self):
        data = super().clean()
        if data.get("frequency") == Frequency.WEEKLY and data.get("weekday") is None:
            self.add_error("weekday", "Pick a day of the week.")
        if data.get("frequency") == Frequency.MONTHLY and not data.get("day_of_month"):
            self.add_error("day_of_month", "Pick a day of the month.")
        for name, default in (("weekday", 2), ("day_of_month", 3)):
            if data.get(name) in (None, ""):
                data[name] = getattr(self.instance, name, default) or default
        return data


class ClientViewerForm(forms.Form):
    email = forms.EmailField(help_text="They get an invitation to sign in and read the reports.")

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if Membership.objects.filter(agency=self.agency, user__email__iexact=email).exists():
            raise ValidationError("This person already has access to the agency.")
        if self.agency.invitations.pending().filter(email__iexact=email).exists():
            raise ValidationError("An invitation to this address is still pending.")
        return email
