"""Code the four Tenure services share: models, database, settings, auth, errors, domain logic."""
