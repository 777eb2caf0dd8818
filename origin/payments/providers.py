"""The PaymentProvider protocol, what it returns, and the manual provider.

A provider is called only after the order's transaction committed, never inside one (no
row lock waits on the network). Every call that moves money carries an idempotency key
derived from the order's own Idempotency-Key, so a retry after a timeout is answered
with the first result by the provider instead of charging or refunding twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Mapping, Protocol


# Providers whose money arrives outside Zelly (the merchant marks it paid): never expired by a sweep.
OFFLINE_PROVIDERS = ("manual",)


@dataclass(frozen=True)
class PaymentRequest:
    tenant_id: int
    order_id: int
    order_number: str
    amount: Decimal
    currency: str
    email: str
    idempotency_key: str  # passed to the provider as its own idempotency key
    success_url: str  # where the provider sends the shopper back (the provider appends its reference)
    cancel_url: str


@dataclass(frozen=True)
class PaymentStart:
    reference: str | None  # the provider's handle on this payment (Stripe: Checkout Session id)
    redirect_url: str | None  # where the shopper pays; None: nothing to pay online (manual)


@dataclass(frozen=True)
class PaymentOutcome:
    """What the provider says happened to a payment (from a lookup or a verified webhook)."""

    reference: str
    is_paid: bool
    is_failed: bool
    amount: Decimal | None
    currency: str | None
    payment_id: str | None  # Stripe: the PaymentIntent id, which refunds name
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class RefundResult:
    reference: str | None


class PaymentProvider(Protocol):
    name: str

    async def start(self, request: PaymentRequest) -> PaymentStart: ...

    async def lookup(self, reference: str) -> PaymentOutcome: ...

    async def expire(self, reference: str) -> PaymentOutcome:
        """Close the payment so it can no longer be made, and say what became of it.

        Expired (``is_failed``) when it closed, or paid when the shopper paid first: the
        provider decides which one happened, so a caller that voids the order only on
        ``not is_paid`` never voids an order whose money was taken.
        """
        ...

    async def refund(self, *, payment_id: str | None, amount: Decimal, currency: str, idempotency_key: str) -> RefundResult: ...


class ManualProvider:
    """Bank transfer or cash on delivery: the order waits as pending until the merchant marks it paid."""

    name = "manual"

    async def start(self, request: PaymentRequest) -> PaymentStart:
        return PaymentStart(reference=None, redirect_url=None)

    async def lookup(self, reference: str) -> PaymentOutcome:
        return PaymentOutcome(reference, is_paid=False, is_failed=False, amount=None, currency=None, payment_id=None, metadata={})

    async def expire(self, reference: str) -> PaymentOutcome:
        return PaymentOutcome(reference, is_paid=False, is_failed=True, amount=None, currency=None, payment_id=None, metadata={})

    async def refund(self, *, payment_id: str | None, amount: Decimal, currency: str, idempotency_key: str) -> RefundResult:
        return RefundResult(reference=None)  # the merchant pays the money back themselves


@dataclass(frozen=True)
class PaymentProviders:
    """The providers this process offers, by name (built once at start-up, see build_providers)."""

    by_name: Mapping[str, PaymentProvider]

    def get(self, name: str) -> PaymentProvider | None:
        return self.by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.by_name)

    async def close(self) -> None:
        """Close the providers' HTTP clients (at shutdown)."""
        for provider in self.by_name.values():
            close = getattr(provider, "close", None)
            if close is not None:
                await close()
