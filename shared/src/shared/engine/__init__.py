"""The nightly retention engine: features, tiers, clusters, four-high, profiles (stage, segment,
channel), churn scores, tags, strategies, manager assignment and care tasks — all set-based SQL,
chunked by customer id range. Entry points: `python -m shared.engine run` and
`shared.engine.runner.run_nightly`."""
