"""Thin views by concern: clients (dashboard, clients), connect (OAuth connect, reconnect,
disconnect), callbacks (Meta's signed_request callbacks)."""
