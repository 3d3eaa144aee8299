from django import forms
from django.core.exceptions import ValidationError

from accounts.text import clean_name
from accounts.timezones import picker_choices

from .images import ALLOWED_LABEL, MAX_LOGO_BYTES, reencoded_logo
from .models import Client

MAX_NOTES_CHARS = 5000


class LogoField(forms.ImageField):
    """An image told by its bytes: the uploader's file name (and its extension) does not count,
    and a refusal says what is accepted instead of Pillow's seventy extensions."""

    default_validators = []
    default_error_messages = {
        "invalid_image": f"Upload a {ALLOWED_LABEL} image (this file is not one)."
    }


class ClientForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=picker_choices, help_text="Reports for this client use its time zone."
    )
    notes = forms.CharField(
        required=False,
        max_length=MAX_NOTES_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": "Keep notes under 5,000 characters (these have %(show_value)s)."
        },
    )
    logo = LogoField(
        required=False,
        help_text=f"{ALLOWED_LABEL}, up to 1 MB. Shown on this client's reports.",
    )

    class Meta:
        model = Client
        fields = ["name", "time_zone", "notes", "logo"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # a zone saved under an alias stays selectable
            self.fields["time_zone"].choices = picker_choices(self.instance.time_zone)

    def clean_name(self) -> str:
        name = clean_name(self.cleaned_data["name"])
        if not name:
            raise ValidationError("Give the client a name.")
        return name

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size") and logo.size > MAX_LOGO_BYTES:
            raise ValidationError("The logo is larger than 1 MB; please upload a smaller file.")
        if getattr(logo, "image", None) is None:
            return logo  # none, or unchanged (an unchanged logo has no .image)
        # Stored as a re-encoded PNG, whatever the uploader sent or called it: only pixels.
        return reencoded_logo(logo, refused=f"Upload a {ALLOWED_LABEL} image.")
