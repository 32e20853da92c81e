"""Synthetic operator data: the city generator and demo seeders."""
