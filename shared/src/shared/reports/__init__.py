"""Tracking reports (seed 002): campaign uplift against the hold-out, touches, KPIs, model quality."""
