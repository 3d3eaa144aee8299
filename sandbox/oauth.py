"""OAuth: the dialogs, code exchange, long-lived exchange, refresh, debug_token, /me, Pages.
(Owned by the sandbox OAuth work; see sandbox/core.py for how handlers register.)"""
