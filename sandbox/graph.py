"""Graph reads: IG users, media, stories, children, ?ids=, field expansion, insights, batch.
(Owned by the sandbox graph work; see sandbox/core.py for how handlers register.)"""
