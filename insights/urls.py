from django.urls import path

from . import views

A = "a/<slug:agency_slug>/"

urlpatterns = [
    path(A, views.dashboard, name="agency_dashboard"),
    path(A + "clients/", views.client_list, name="client_list"),
    path(A + "clients/new/", views.client_create, name="client_create"),
    path(A + "clients/<int:pk>/", views.client_detail, name="client_detail"),
    path(A + "clients/<int:pk>/edit/", views.client_edit, name="client_edit"),
    path(A + "clients/<int:pk>/archive/", views.client_archive, name="client_archive"),
    path(A + "clients/<int:pk>/logo/", views.client_logo, name="client_logo"),
]
