from django.contrib import admin

from .models import Client, DeletionRequest, InstagramAccount


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "agency", "time_zone", "archived_at"]
    list_filter = ["agency"]
    search_fields = ["name"]


@admin.register(InstagramAccount)
class InstagramAccountAdmin(admin.ModelAdmin):
    """Read-only, and the token ciphertext is not even a field here."""

    list_display = ["username", "agency", "client", "login_path", "health", "token_expires_at"]
    list_filter = ["health", "login_path"]
    search_fields = ["username", "ig_user_id"]
    exclude = ["token_ciphertext"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "token_ciphertext"]

    def has_add_permission(self, request):
        return False


@admin.register(DeletionRequest)
class DeletionRequestAdmin(admin.ModelAdmin):
    list_display = ["confirmation_code", "app", "status", "received_at", "completed_at"]
    readonly_fields = [
        "confirmation_code",
        "app",
        "meta_user_id",
        "status",
        "accounts_deleted",
        "received_at",
        "completed_at",
    ]
