from django.urls import path

from .views import (
    branding,
    callbacks,
    client_viewers,
    clients,
    connect,
    portal,
    portfolio,
    refresh,
    reports,
    schedules,
    share_links,
    shared,
    webhooks,
)

A = "a/<slug:agency_slug>/"

urlpatterns = [
    path(A, clients.dashboard, name="agency_dashboard"),
    path(A + "attention/", connect.attention, name="attention"),
    path(A + "clients/", clients.client_list, name="client_list"),
    path(A + "clients/new/", clients.client_create, name="client_create"),
    path(A + "clients/<int:pk>/", clients.client_detail, name="client_detail"),
    path(A + "clients/<int:pk>/edit/", clients.client_edit, name="client_edit"),
    path(A + "clients/<int:pk>/archive/", clients.client_archive, name="client_archive"),
    path(A + "clients/<int:pk>/logo/", clients.client_logo, name="client_logo"),
    path(A + "clients/<int:pk>/report/", reports.client_report, name="client_report"),
    path(A + "clients/<int:pk>/report.pdf", reports.client_report_pdf, name="client_report_pdf"),
    path(A + "clients/<int:pk>/report.csv", reports.client_report_csv, name="client_report_csv"),
    path(
        A + "clients/<int:pk>/report-posts.csv",
        reports.client_report_posts_csv,
        name="client_report_posts_csv",
    ),
    path(A + "clients/<int:pk>/report.xlsx", reports.client_report_xlsx, name="client_report_xlsx"),
    path(
        A + "clients/<int:pk>/report/settings/",
        reports.client_report_settings,
        name="client_report_settings",
    ),
    path(A + "clients/<int:pk>/report/notes/", reports.report_note_add, name="report_note_add"),
    path(
        A + "report-notes/<int:pk>/delete/", reports.report_note_delete, name="report_note_delete"
    ),
    path(
        A + "media/<int:pk>/thumbnail/",
        reports.report_media_thumbnail,
        name="report_media_thumbnail",
    ),
    path(
        A + "clients/<int:pk>/connect/<str:login_path>/",
        connect.connect_start,
        name="connect_start",
    ),
    path(A + "connect/<int:pk>/", connect.connect_pick, name="connect_pick"),
    path(A + "accounts/<int:pk>/check/", connect.account_check, name="account_check"),
    path(
        A + "accounts/<int:pk>/reconnect/",
        connect.account_reconnect,
        name="account_reconnect",
    ),
    path(
        A + "accounts/<int:pk>/reconnect-link/",
        connect.account_reconnect_link,
        name="account_reconnect_link",
    ),
    path(
        A + "accounts/<int:pk>/disconnect/",
        connect.account_disconnect,
        name="account_disconnect",
    ),
    path(
        A + "accounts/<int:pk>/reconnect-links/email/",
        connect.account_reconnect_link_email,
        name="account_reconnect_link_email",
    ),
    path(
        A + "accounts/<int:pk>/reconnect-links/<int:link_pk>/revoke/",
        connect.account_reconnect_link_revoke,
        name="account_reconnect_link_revoke",
    ),
    path(A + "accounts/<int:pk>/picture/", clients.account_picture, name="account_picture"),
    # White label, sharing, scheduled emails, client logins, the portal and the portfolio
    path(A + "settings/branding/", branding.branding_settings, name="branding_settings"),
    path(A + "clients/<int:pk>/share/", share_links.client_delivery, name="client_delivery"),
    path(
        A + "share-links/<int:pk>/revoke/",
        share_links.share_link_revoke,
        name="share_link_revoke",
    ),
    path(
        A + "clients/<int:pk>/schedules/new/",
        schedules.schedule_create,
        name="schedule_create",
    ),
    path(A + "schedules/<int:pk>/", schedules.schedule_edit, name="schedule_edit"),
    path(A + "schedules/<int:pk>/delete/", schedules.schedule_delete, name="schedule_delete"),
    path(
        A + "schedules/<int:pk>/send-now/",
        schedules.schedule_send_now,
        name="schedule_send_now",
    ),
    path(A + "deliveries/<int:pk>/pdf/", schedules.delivery_pdf, name="delivery_pdf"),
    path(A + "deliveries/<int:pk>/resend/", schedules.delivery_resend, name="delivery_resend"),
    path(
        A + "clients/<int:pk>/viewers/",
        client_viewers.client_viewer_invite,
        name="client_viewer_invite",
    ),
    path(
        A + "client-viewers/<int:pk>/remove/",
        client_viewers.client_viewer_remove,
        name="client_viewer_remove",
    ),
    path(A + "portfolio/", portfolio.portfolio, name="portfolio"),
    path(A + "portal/", portal.client_portal, name="client_portal"),
    path(A + "portal/<int:pk>/", portal.portal_report, name="portal_report"),
    path(A + "portal/<int:pk>/report.pdf", portal.portal_report_pdf, name="portal_report_pdf"),
    # Thumbnails by unguessable reference (insights/reports/thumbnails.py), not by id.
    path(A + "portal/media/<str:ref>/", portal.portal_media, name="portal_media"),
    path("r/<str:token>/", shared.shared_report, name="shared_report"),
    path("r/<str:token>/report.pdf", shared.shared_report_pdf, name="shared_report_pdf"),
    path("r/<str:token>/media/<str:ref>/", shared.shared_media, name="shared_media"),
    path(
        "brand/<str:public_id>/<str:version>.css",
        branding.brand_stylesheet,
        name="brand_stylesheet",
    ),
    path("brand/<str:public_id>/<str:version>/logo", branding.brand_logo, name="brand_logo"),
    path(
        A + "accounts/<int:pk>/refresh/status/",
        refresh.account_refresh_status,
        name="account_refresh_status",
    ),
    path(A + "accounts/<int:pk>/refresh/", refresh.account_refresh_now, name="account_refresh_now"),
    path("oauth/<str:login_path>/callback/", connect.oauth_callback, name="oauth_callback"),
    path("oauth/failed/", connect.connect_failed, name="connect_failed"),
    path("reconnect/done/", connect.reconnect_done, name="reconnect_done"),
    path("reconnect/<str:value>/", connect.reconnect_link, name="reconnect_link"),
    path("meta/<str:app>/deauthorize/", callbacks.deauthorize, name="meta_deauthorize"),
    path("meta/<str:app>/data-deletion/", callbacks.data_deletion, name="meta_data_deletion"),
    path("meta/deletion-status/<str:code>/", callbacks.deletion_status, name="deletion_status"),
    path("meta/webhooks/", webhooks.instagram_webhook, name="meta_webhook"),
]
