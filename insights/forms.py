from django import forms
from django.core.exceptions import ValidationError

from accounts.models import TIME_ZONE_CHOICES

from .models import Client

MAX_LOGO_BYTES = 1024 * 1024


class ClientForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=TIME_ZONE_CHOICES, help_text="Reports for this client use its time zone."
    )

    class Meta:
        model = Client
        fields = ["name", "time_zone", "notes", "logo"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"logo": "PNG, JPEG or WebP, up to 1 MB. Shown on this client's reports."}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the client a name.")
        return name

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and hasattr(logo, "size") and logo.size > MAX_LOGO_BYTES:
            raise ValidationError("The logo is larger than 1 MB; please upload a smaller file.")
        image = getattr(logo, "image", None)
        if image is not None and image.format not in ("PNG", "JPEG", "WEBP"):
            raise ValidationError("Upload a PNG, JPEG or WebP image.")
        return logo
