"""Connected Instagram accounts, by concern (import the module you need, nothing is re-exported):

- `oauth`: the connect round trip (state, code exchange, the Facebook pick step, upserts).
- `health`: periodic connection checks, token refresh, expiry warnings and notices (the health
  state and the account's Meta client are the account's own: `InstagramAccount.set_health`,
  `InstagramAccount.meta_client()`).
- `removal`: reconnect links, disconnecting, dropping tokens and deleting accounts.

`oauth` uses `removal` and `health`, `removal` uses neither of the others, `health` neither; the
refresh pipeline imports none of them (DESIGN.md "Boundaries, enforced").
"""
