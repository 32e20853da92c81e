"""Durable background jobs on PostgreSQL (procrastinate): queue, tasks, schedules, recovery, worker.

`queue` (no domain imports: any domain may queue a job in its own transaction), `runtime` (how a
job runs: lock, progress, retries), `tasks` (every long job), `schedules` (cron in local time),
`recovery` (jobs of dead workers), `worker` (`python -m shared.jobs worker`), `progress` (what the
console reads), `metrics`.
"""
