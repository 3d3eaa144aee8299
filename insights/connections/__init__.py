"""Connected Instagram accounts, by concern (import the module you need, nothing is re-exported):

- `oauth`: the connect round trip (state, code exchange, the Facebook pick step, upserts).
- `health`: connection health, periodic checks, token refresh, the account's Meta client.
- `removal`: reconnect links, disconnecting, dropping tokens and deleting accounts.

`health` never imports `oauth`, so the refresh pipeline can use it without the round trip.
"""
