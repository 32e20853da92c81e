"""Every table, re-exported so Alembic's autogenerate sees the whole schema."""
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
from shared.models.engine import BehaviourCluster, CustomerFeatures
from shared.models.engagement import Ad, CheckIn, HuntPlay, HuntPrize, HuntSpot, ProgrammeSetting, TreasureHunt
from shared.models.ledger import AccountKind, Asset, IdempotencyRecord, LedgerAccount, LedgerEntry, LedgerTxn
from shared.models.manager import Greeting, IncentiveStatement, ManagerContact, ReassignmentRequest
from shared.models.org import AssignmentHistory, ManagerAssignment, OrgKind, OrgUnit, StaffRole, StaffUser
from shared.models.product import Product, ProductKind, Subscription
from shared.models.retention import (
    Campaign,
    CampaignMember,
    CareTask,
    ChurnModel,
    CustomerProfile,
    CustomerTagSet,
    CustomerTagHistory,
    EngineRun,
    EngineRunStage,
    FourHighFlag,
    Holiday,
    KeyMomentEvent,
    Recommendation,
    Strategy,
    TagDefinition,
    TierRule,
    Touch,
)
from shared.models.security import AuditLog, ImportJob, OtpCode, RateLimitBucket, RefreshToken
from shared.models.usage import MonthlyUsage

__all__ = [name for name in dir() if not name.startswith("_")]
