from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from .models import ROLE_RANK, Agency, Membership, Role, User
from .services import create_agency
from .text import NameField, clean_name
from .timezones import picker_choices


class AgencyFieldsMixin(forms.Form):
    agency_name = NameField(
        label="Agency name",
        max_length=120,
        help_text="Your team sees this name; you can change it.",
    )
    time_zone = forms.ChoiceField(
        choices=picker_choices,
        initial="UTC",
        help_text="Reports default to this time zone; each client can have its own.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:  # a fresh form: static/prism/timezone.js proposes the browser's
            self.fields["time_zone"].widget.attrs["data-browser-zone"] = "propose"

    def clean_agency_name(self) -> str:
        name = clean_name(self.cleaned_data["agency_name"])
        if not name:
            raise ValidationError("Give your agency a name.")
        return name


class AgencySignupForm(AgencyFieldsMixin):
    """Extra fields on allauth's signup form: signing up creates an agency owned by the user."""

    name = NameField(label="Your name", max_length=150)

    field_order = ["name", "email", "password1", "password2", "agency_name", "time_zone"]

    def signup(self, request, user: User) -> None:
        user.name = clean_name(self.cleaned_data["name"])
        user.save(update_fields=["name"])
        create_agency(
            owner=user,
            name=self.cleaned_data["agency_name"],
            time_zone=self.cleaned_data["time_zone"],
        )


class AgencyForm(forms.ModelForm):
    class Meta:
        model = Agency
        fields = ["name", "time_zone", "require_mfa"]
        labels = {"require_mfa": "Require two-factor sign-in"}
        help_texts = {
            "require_mfa": "Everyone must sign in with an authenticator app to open this agency."
        }

    def __init__(self, *args, actor: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["time_zone"].choices = picker_choices(self.instance.time_zone)

    def clean_require_mfa(self) -> bool:
        from .mfa import has_mfa

        required = self.cleaned_data["require_mfa"]
        if required and self.actor is not None and not has_mfa(self.actor):
            raise ValidationError(
                "Turn on two-factor sign-in for yourself first (Your profile → Two-factor)."
            )
        return required

    def clean_name(self) -> str:
        name = clean_name(self.cleaned_data["name"])
        if not name:
            raise ValidationError("Give the agency a name.")
        return name


class ClientsField(forms.ModelMultipleChoiceField):
    """The clients a person is limited to. An id no database column can hold is refused like
    any unknown one (SQLite raised OverflowError for 2**63: a 500 page)."""

    def _check_values(self, value):
        for pk in value or []:
            text = str(pk).strip()
            if not text.isdigit() or not 0 < int(text) < 2**63:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class ClientRestrictionMixin(forms.Form):
    """Role plus an optional restriction to some of the agency's clients."""

    def __init__(self, *args, agency: Agency, actor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.actor = actor
        self.fields["clients"].queryset = agency.clients.active()
        # Nobody hands out a role above their own. Client viewers are invited from their
        # client's page (insights.reports.delivery), not as team members.
        self.fields["role"].choices = [
            (value, label)
            for value, label in Role.choices
            if actor.has_role(value) and value != Role.CLIENT
        ]

    def clean(self):
        data = super().clean()
        role = data.get("role")
        if data.get("limited_to_clients") and role in (Role.OWNER, Role.ADMIN):
            self.add_error("limited_to_clients", "Owners and admins always see every client.")
        if data.get("limited_to_clients") and not data.get("clients"):
            self.add_error("clients", "Pick at least one client, or untick the limit.")
        if not data.get("limited_to_clients"):
            data["clients"] = []
        return data


class InvitationForm(ClientRestrictionMixin):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    limited_to_clients = forms.BooleanField(
        required=False, label="Limit to some clients", help_text="Members and viewers only."
    )
    clients = ClientsField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if Membership.objects.filter(agency=self.agency, user__email__iexact=email).exists():
            raise ValidationError("This person is already a member of the agency.")
        if self.agency.invitations.pending().filter(email__iexact=email).exists():
            raise ValidationError(
                "An invitation to this address is still pending. Revoke it to send a new one."
            )
        return email


class MembershipForm(ClientRestrictionMixin, forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role", "limited_to_clients", "clients"]
        widgets = {"clients": forms.CheckboxSelectMultiple}
        field_classes = {"clients": ClientsField}
        labels = {"limited_to_clients": "Limit to some clients"}

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        member = self.instance
        last_owner = not member.agency.owners().exclude(pk=member.pk).exists()
        if member.role == Role.OWNER and role != Role.OWNER and last_owner:
            raise ValidationError("The agency needs at least one owner. Add another first.")
        if ROLE_RANK[Role(role)] > ROLE_RANK[Role(self.actor.role)]:
            raise ValidationError("You cannot give a role above your own.")
        return role


class AcceptInvitationSignupForm(forms.Form):
    """For invitees without an account: the invitation proves the email address."""

    name = NameField(label="Your name", max_length=150)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password (again)", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            try:
                password_validation.validate_password(
                    p1, User(email=self.email, name=data.get("name", ""))
                )
            except ValidationError as error:
                self.add_error("password1", error)
        return data


class ProfileForm(forms.ModelForm):
    name = NameField(label="Your name", max_length=150, help_text="Shown to your team.")

    class Meta:
        model = User
        fields = ["name"]

    def clean_name(self) -> str:
        if not self.cleaned_data["name"]:
            raise ValidationError("Enter your name.")
        return self.cleaned_data["name"]
