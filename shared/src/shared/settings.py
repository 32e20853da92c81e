"""Settings read from the environment. Nothing else in the code base reads os.environ.

Defaults are for development only; `TENURE_ENV=prod` refuses to start with them.
"""
from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_SMS_GATEWAY_SECRET = "dev-only-sms-gateway-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore")

    env: str = "dev"
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    pool_size: int = 10
    # no overflow: an overflow connection is opened and closed per request under load (TLS
    # negotiation included), which costs more than waiting for a pooled one
    max_overflow: int = 0
    pool_timeout_s: float = 5.0
    statement_timeout_ms: int = 15_000
    lock_timeout_ms: int = 5_000
    idle_in_tx_timeout_ms: int = 30_000

    jwt_secret: str = DEV_JWT_SECRET
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
    timezone: str = "Asia/Shanghai"
    # HMAC-SHA256 secret the SMS gateway signs inbound replies with (POST :8001/v1/sms/replies)
    sms_gateway_secret: str = DEV_SMS_GATEWAY_SECRET
    sms_signature_tolerance_s: int = 300
    access_log: bool = True
    pool_pre_ping: bool = False

    @model_validator(mode="after")
    def _no_dev_secrets_in_prod(self) -> "Settings":
        if self.env == "prod" and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("TENURE_JWT_SECRET must be set in prod")
        if self.env == "prod" and self.sms_gateway_secret == DEV_SMS_GATEWAY_SECRET:
            raise ValueError("TENURE_SMS_GATEWAY_SECRET must be set in prod")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
