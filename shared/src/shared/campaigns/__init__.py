"""Campaigns with control groups: audience query, launch with a deterministic hold-out, delivery."""
