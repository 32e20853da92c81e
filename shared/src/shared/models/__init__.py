"""Every table, re-exported so Alembic's autogenerate sees the whole schema.

A new model is imported here and named in `__all__` (ruff's F401 flags one that is not).
"""

from shared.db.base import Base
from shared.models.alliance import (
    Coupon,
    Merchant,
    MerchantClient,
    MerchantStore,
    Offer,
    OperatorPack,
    PackGift,
    Redemption,
    Settlement,
    WebhookDelivery,
)
from shared.models.campaign import Campaign, CampaignMember
from shared.models.care import CareTask, Holiday, KeyMomentEvent
from shared.models.churn import ChurnModel
from shared.models.customer import (
    TIER_ORDER,
    VIP_TIERS,
    CompetitorCall,
    Complaint,
    Customer,
    CustomerStatus,
    Handset,
    Tier,
)
from shared.models.engagement import Ad, CheckIn, HuntPlay, HuntPrize, HuntSpot, HuntSpotClaim, TreasureHunt
from shared.models.engine import BehaviourCluster, CustomerFeatures, EngineRun, EngineRunStage, EngineWatermark
from shared.models.jobs import JobProgress, JobSchedule
from shared.models.ledger import AccountKind, Asset, IdempotencyRecord, LedgerAccount, LedgerEntry, LedgerTxn
from shared.models.manager import Greeting, IncentiveStatement, ManagerContact, ReassignmentRequest
from shared.models.org import AssignmentHistory, ManagerAssignment, OrgKind, OrgUnit, StaffRole, StaffUser
from shared.models.product import ContractInstalment, PlanChange, Product, ProductKind, Subscription
from shared.models.profile import CustomerProfile, FourHighFlag, TierRule
from shared.models.programme import ProgrammeSetting
from shared.models.security import AuditLog, ImportJob, OtpCode, RateLimitBucket, RefreshToken
from shared.models.strategy import KeyMomentPlaybook, Recommendation, RetentionOffer, Strategy
from shared.models.tag import CustomerTagHistory, CustomerTagSet, TagDefinition
from shared.models.touch import SmsReply, Touch
from shared.models.usage import DailyUsage, MonthlyUsage, Topup

__all__ = [
    "Topup",
    "ContractInstalment",
    "PlanChange",
    "JobSchedule",
    "JobProgress",
    "Base",
    "Coupon",
    "Merchant",
    "MerchantClient",
    "MerchantStore",
    "Offer",
    "OperatorPack",
    "PackGift",
    "Redemption",
    "Settlement",
    "WebhookDelivery",
    "Campaign",
    "CampaignMember",
    "CareTask",
    "Holiday",
    "KeyMomentEvent",
    "ChurnModel",
    "TIER_ORDER",
    "VIP_TIERS",
    "CompetitorCall",
    "Complaint",
    "Customer",
    "CustomerStatus",
    "Handset",
    "Tier",
    "Ad",
    "CheckIn",
    "HuntPlay",
    "HuntPrize",
    "HuntSpot",
    "HuntSpotClaim",
    "TreasureHunt",
    "BehaviourCluster",
    "CustomerFeatures",
    "EngineRun",
    "EngineRunStage",
    "EngineWatermark",
    "AccountKind",
    "Asset",
    "IdempotencyRecord",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTxn",
    "Greeting",
    "IncentiveStatement",
    "ManagerContact",
    "ReassignmentRequest",
    "AssignmentHistory",
    "ManagerAssignment",
    "OrgKind",
    "OrgUnit",
    "StaffRole",
    "StaffUser",
    "Product",
    "ProductKind",
    "Subscription",
    "CustomerProfile",
    "FourHighFlag",
    "TierRule",
    "ProgrammeSetting",
    "AuditLog",
    "ImportJob",
    "OtpCode",
    "RateLimitBucket",
    "RefreshToken",
    "Recommendation",
    "Strategy",
    "RetentionOffer",
    "KeyMomentPlaybook",
    "CustomerTagHistory",
    "CustomerTagSet",
    "TagDefinition",
    "SmsReply",
    "Touch",
    "MonthlyUsage",
    "DailyUsage",
]
