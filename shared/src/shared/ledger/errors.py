from shared.errors import Conflict, IdempotencyKeyReused, InsufficientFunds

__all__ = ["Conflict", "IdempotencyKeyReused", "InsufficientFunds", "UnbalancedTransaction"]


class UnbalancedTransaction(ValueError):
    """A programming error: legs of one asset must sum to zero."""
