"""The insight layer: what the report's numbers mean, computed from the snapshots by rules.

Pure functions over what `readings` reads (one query for every account of a report): each
post against the account's own normal (`normals`). Same inputs, same words.
"""
