from django.urls import path

from . import connect_views, meta_callbacks, views

A = "a/<slug:agency_slug>/"

urlpatterns = [
    path(A, views.dashboard, name="agency_dashboard"),
    path(A + "attention/", connect_views.attention, name="attention"),
    path(A + "clients/", views.client_list, name="client_list"),
    path(A + "clients/new/", views.client_create, name="client_create"),
    path(A + "clients/<int:pk>/", views.client_detail, name="client_detail"),
    path(A + "clients/<int:pk>/edit/", views.client_edit, name="client_edit"),
    path(A + "clients/<int:pk>/archive/", views.client_archive, name="client_archive"),
    path(A + "clients/<int:pk>/logo/", views.client_logo, name="client_logo"),
    path(
        A + "clients/<int:pk>/connect/<str:login_path>/",
        connect_views.connect_start,
        name="connect_start",
    ),
    path(A + "connect/<int:pk>/", connect_views.connect_pick, name="connect_pick"),
    path(A + "accounts/<int:pk>/check/", connect_views.account_check, name="account_check"),
    path(
        A + "accounts/<int:pk>/reconnect/",
        connect_views.account_reconnect,
        name="account_reconnect",
    ),
    path(
        A + "accounts/<int:pk>/reconnect-link/",
        connect_views.account_reconnect_link,
        name="account_reconnect_link",
    ),
    path(
        A + "accounts/<int:pk>/disconnect/",
        connect_views.account_disconnect,
        name="account_disconnect",
    ),
    path(A + "accounts/<int:pk>/picture/", views.account_picture, name="account_picture"),
    path("oauth/<str:login_path>/callback/", connect_views.oauth_callback, name="oauth_callback"),
    path("reconnect/<str:value>/", connect_views.reconnect_link, name="reconnect_link"),
    path("meta/<str:app>/deauthorize/", meta_callbacks.deauthorize, name="meta_deauthorize"),
    path("meta/<str:app>/data-deletion/", meta_callbacks.data_deletion, name="meta_data_deletion"),
    path(
        "meta/deletion-status/<str:code>/", meta_callbacks.deletion_status, name="deletion_status"
    ),
]
