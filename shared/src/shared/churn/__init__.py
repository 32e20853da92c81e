"""Churn early warning (seeds 000, 003): entropy-ranked churn factors, a calibrated classifier,
a warning coefficient and risk level per customer with their top factors, and a model registry.

Modules: `tabular` (type any churn table), `pipeline` (candidates, leak-free CV, metrics),
`factors` (information gain), `model` (the fitted artifact), `evaluate` (CSV quality check),
`features` (the platform's training/scoring frame in SQL), `registry` (train / activate /
compare), `scoring` (`score_all`, the nightly stage), `uplift` (whom to contact, from campaign
hold-outs).
"""
