"""Bulk CSV import of billing-system exports: subscribers, monthly usage, bills, handsets, complaints.

`layouts` declares the column layout of each file kind (documented in infra/samples/README.md),
`validate` checks rows cheaply in Python, `service` streams them through COPY into a staging
table and merges set-based.
"""
