"""The refresh pipeline: claims and leases (schedule), one account's refresh (account), and what
it stores (daily, demographics, backfill, media, stories) through idempotent upserts (store)."""
