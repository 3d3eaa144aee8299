from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("agencies/new/", views.agency_create, name="agency_create"),
    path("profile/", views.profile, name="profile"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("a/<slug:agency_slug>/settings/", views.agency_settings, name="agency_settings"),
    path("a/<slug:agency_slug>/members/", views.members, name="members"),
    path("a/<slug:agency_slug>/activity/", views.activity, name="activity"),
    path("a/<slug:agency_slug>/members/<int:pk>/", views.member_edit, name="member_edit"),
    path(
        "a/<slug:agency_slug>/members/<int:pk>/remove/", views.member_remove, name="member_remove"
    ),
    path("a/<slug:agency_slug>/leave/", views.leave, name="agency_leave"),
    path(
        "a/<slug:agency_slug>/invitations/<int:pk>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "a/<slug:agency_slug>/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]
