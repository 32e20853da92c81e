"""The account manager's work: assigned customers, portraits, care tasks, contacts, greetings,
KPIs, incentives, the hall counter and mobile sync. Every query is scoped by
`shared.auth.scoping`; nothing here commits."""
