"""Settings read from the environment. Nothing else in the code base reads os.environ.

Defaults are for development only; `TENURE_ENV=prod` refuses to start with them. A refusal names the
setting and the rule, never its value: pydantic echoes the input in a ValidationError (the database
URL with its password, the secret), so inputs are hidden from errors and secrets from the repr.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_COUPON_CODE_KEY = "dev-only-coupon-code-key-change-me-0123456789"
MIN_SECRET_BYTES = 32  # HS256 signs with the secret itself: at least its 256-bit output size
DEV_SMS_GATEWAY_SECRET = "dev-only-sms-gateway-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore", hide_input_in_errors=True)

    env: str = "dev"
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL", repr=False)
    # Scale-out (README "How it scales past one machine"). A streaming replica for ReadSession reads
    # (unset: every read on the primary, as before); how long after a write the writer's own reads
    # stay on the primary (read-your-writes); a direct URL for the job worker and the engine, which
    # hold session advisory locks and LISTEN (neither works through PgBouncer in transaction mode);
    # and TENURE_DB_PGBOUNCER=1 when DATABASE_URL is a PgBouncer in transaction mode.
    database_read_url: str | None = Field(default=None, validation_alias="DATABASE_READ_URL", repr=False)
    read_your_writes_s: float = Field(default=5.0, ge=0)
    database_direct_url: str | None = Field(default=None, validation_alias="DATABASE_DIRECT_URL", repr=False)
    db_pgbouncer: bool = False
    # Per process (uvicorn worker). The check-in peak (400/s, ~2-4 ms of database time each) keeps
    # about two connections busy; ten absorb a burst whose requests wait on each other's row locks
    # (50 check-ins of one customer), and 4 services x 2 workers x 10 stay under PostgreSQL's 100.
    pool_size: int = 10
    # the nightly run recomputes only customers changed since the last one where a stage keeps a
    # watermark (churn scoring); false: every night is a full recompute
    engine_incremental: bool = True
    # churn training fits this many cross-validation folds side by side (threads, each fit single-
    # threaded: no OpenMP oversubscription); 0: one per core, at most 2. A training on a box that
    # also serves the APIs may want 1.
    churn_train_jobs: int = Field(default=0, ge=0, le=16)
    # no overflow: an overflow connection is opened and closed per request under load (TLS
    # negotiation included), which costs more than waiting for a pooled one
    max_overflow: int = 0
    # How long a request waits for a pooled connection. Longer than lock_timeout: when the pool is
    # full of requests waiting on a row lock, those give up first (409 "retry"), so the requests
    # queued behind them get a connection instead of a 503. A database that is down still answers
    # 503 at once (the connect is refused, or gives up after connect_timeout_s).
    pool_timeout_s: float = 8.0
    # Opening a connection: on a fresh start a burst opens the whole pool at once, and on a loaded
    # 2-core box ten concurrent connects took over the old 2 s (asyncpg TimeoutError, a 503).
    connect_timeout_s: float = 5.0
    statement_timeout_ms: int = 15_000
    lock_timeout_ms: int = 5_000
    idle_in_tx_timeout_ms: int = 30_000

    jwt_secret: str = Field(default=DEV_JWT_SECRET, repr=False)
    jwt_issuer: str = "tenure"
    access_ttl_s: int = 900
    refresh_ttl_s: int = 14 * 24 * 3600
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    # Attempt limits (sliding windows in Postgres, see shared/auth/ratelimit.py and README "Security").
    # "address" is request.client.host: behind a proxy, uvicorn's --proxy-headers and
    # --forwarded-allow-ips decide whether that is the caller or the proxy.
    otp_per_phone_per_day: int = 10  # SMS codes sent to one number per 24 h
    otp_send_per_address: int = 10  # SMS codes requested from one address (any numbers) per window
    otp_send_window_s: int = 3600
    otp_fail_per_address: int = 10  # wrong codes from one address (any numbers) per login window
    login_max_failures: int = 5  # wrong secrets for one account from one address per window
    login_account_max_failures: int = 50  # wrong secrets for one account from all addresses per window
    login_address_max_failures: int = 10  # wrong secrets from one address, any accounts, per window
    login_window_s: int = 900
    till_guess_limit: int = 10  # refused coupon codes per merchant per window
    till_guess_window_s: int = 60
    timezone: str = "Asia/Shanghai"  # lint: allow-timezone-literal  the one default; shared.clock reads it
    # HMAC-SHA256 secret the SMS gateway signs inbound replies with (POST :8001/v1/sms/replies)
    sms_gateway_secret: str = Field(default=DEV_SMS_GATEWAY_SECRET, repr=False)
    sms_signature_tolerance_s: int = 300
    access_log: bool = True
    pool_pre_ping: bool = False
    # Keyed hash and encryption of coupon codes (shared.alliance.codes). Never rotate it without
    # re-keying the coupons table: the till finds a code by its HMAC under this key.
    coupon_code_key: str = Field(default=DEV_COUPON_CODE_KEY, repr=False)
    # Merchant webhooks to loopback (http://localhost…) for local development. Unset: allowed
    # outside prod; refused in prod. Private and link-local addresses are refused everywhere.
    webhooks_allow_local: bool | None = None
    # the largest request body any route reads (the CSV import has its own, larger limit)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # Requests one worker process serves at once; past it, 503 + Retry-After at once instead of an
    # unbounded queue (shared.web.admission). 0: no bound. At 2-9 ms of CPU per request an
    # admitted request waits behind at most 63 others (0.15-0.6 s on one core); a burst of 50
    # (one phone app's retries, the tests' pool bursts) is still served whole.
    max_in_flight: int = Field(default=64, ge=0)
    # Bearer token a Prometheus scraper sends to /metrics; in prod /metrics is 404 without one
    metrics_token: str | None = Field(default=None, min_length=MIN_SECRET_BYTES, repr=False)
    # durable jobs (shared.jobs): the worker's heartbeat, when a silent worker's jobs are retried,
    # how often the worker looks for them, jobs run at once, and where uploads wait for the worker
    jobs_heartbeat_s: float = 10.0
    jobs_stalled_after_s: float = 60.0
    jobs_recover_every_s: float = 15.0
    jobs_concurrency: int = 4
    jobs_keep_days: int = Field(default=30, ge=1)  # finished jobs older than this are purged (jobs.purge)
    worker_metrics_port: int = 8005  # the worker's own /metrics (0: none)
    spool_dir: str | None = None  # default: <repo>/.data/spool (compose: a volume shared by admin and worker)
    # Error details follow Accept-Language; this is the language of a request without one (all four
    # services: the subscribers and staff who read them are Chinese, and the console sends its own).
    default_language: Literal["zh-CN", "en"] = "zh-CN"
    # The operator's SMS signature, put before every SMS text (shared.notify.templates). The default
    # is a development placeholder: in production set the signature registered with the carriers.
    sms_signature: str = Field(default="【Tenure】", min_length=1, max_length=20)

    @model_validator(mode="after")
    def _no_dev_secrets_in_prod(self) -> Settings:
        if self.env == "prod":
            if self.jwt_secret == DEV_JWT_SECRET:
                raise ValueError("TENURE_JWT_SECRET must be set in prod (not the development default)")
            if len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(f"TENURE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes in prod")
            if self.coupon_code_key == DEV_COUPON_CODE_KEY or len(self.coupon_code_key.encode()) < MIN_SECRET_BYTES:
                raise ValueError(f"TENURE_COUPON_CODE_KEY ({MIN_SECRET_BYTES}+ bytes) must be set in prod")
            if self.webhooks_allow_local:
                raise ValueError("TENURE_WEBHOOKS_ALLOW_LOCAL may not be set in prod")
            if self.sms_gateway_secret == DEV_SMS_GATEWAY_SECRET:
                raise ValueError("TENURE_SMS_GATEWAY_SECRET must be set in prod")
        return self

    @property
    def webhooks_local_allowed(self) -> bool:
        """The development exception for webhooks to loopback; never in prod."""
        return self.env != "prod" and self.webhooks_allow_local is not False


def direct_database(settings: Settings) -> dict[str, object]:
    """Settings overrides for a process that needs a real server session (LISTEN, session advisory
    locks: the job worker, the engine CLI): DATABASE_DIRECT_URL when set, and never PgBouncer mode
    on it. Unset: the process uses DATABASE_URL as it is."""
    if not settings.database_direct_url:
        return {}
    return {"database_url": settings.database_direct_url, "db_pgbouncer": False}


@lru_cache
def get_settings() -> Settings:
    return Settings()
