"""Request and response models of ``/api/v1/analytics/*`` (the OpenAPI document is built from them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from origin.analytics.ranges import MAX_LIMIT

STRICT_ALIASED = ConfigDict(extra="forbid", populate_by_name=True)


class RangeQuery(BaseModel):
    model_config = STRICT_ALIASED

    from_: str | None = Field(None, alias="from", max_length=32, description="first day, YYYY-MM-DD (default: 6 days before `to`)")
    to: str | None = Field(None, max_length=32, description="last day, inclusive, YYYY-MM-DD (default: today in `tz`)")
    tz: str | None = Field(None, max_length=64, description="IANA time zone of the days and buckets (default: UTC)")
    interval: Literal["day", "hour"] | None = Field(None, description="bucket size for series (hour: at most 31 days)")


class ListQuery(RangeQuery):
    limit: int = Field(10, ge=1, le=MAX_LIMIT, description=f"rows, 1-{MAX_LIMIT}")


class RangeOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    from_: str = Field(alias="from")
    to: str
    tz: str
    interval: str


class ReportOut(BaseModel):
    range: RangeOut
    currency: str


class Summary(BaseModel):
    visitors: int
    sessions: int
    page_views: int
    product_views: int
    add_to_carts: int
    checkouts: int
    orders: int
    revenue: str
    average_order_value: str
    bounces: int
    bounce_rate: float


class SummaryOut(ReportOut):
    """Totals for the range."""

    summary: Summary


class SeriesPoint(BaseModel):
    bucket: str
    visitors: int
    sessions: int
    page_views: int
    orders: int
    revenue: str
    average_order_value: str


class TimeseriesOut(ReportOut):
    """One point per day or hour in the merchant's zone, zeros included."""

    series: list[SeriesPoint]


class RevenuePoint(BaseModel):
    bucket: str
    revenue: str
    orders: int
    average_order_value: str


class RevenueOut(ReportOut):
    """Revenue, orders and average order value, in total and per bucket."""

    revenue: str
    orders: int
    average_order_value: str
    series: list[RevenuePoint]


class PageRow(BaseModel):
    path: str
    page_views: int
    visitors: int


class PagesOut(ReportOut):
    """Most viewed pages."""

    pages: list[PageRow]


class ProductRow(BaseModel):
    product_id: int
    title: str | None
    handle: str | None
    views: int
    add_to_carts: int
    purchases: int
    units: int
    revenue: str
    view_to_purchase_rate: float


class ProductsOut(ReportOut):
    """Most viewed products with their add-to-carts, purchases and revenue."""

    products: list[ProductRow]


class ReferrerRow(BaseModel):
    referrer: str
    sessions: int
    visitors: int


class CampaignRow(BaseModel):
    source: str
    medium: str
    campaign: str
    sessions: int


class SourcesOut(ReportOut):
    """Sessions by referrer host and by UTM tags."""

    referrers: list[ReferrerRow]
    utm: list[CampaignRow]


class DeviceRow(BaseModel):
    device: str
    sessions: int
    visitors: int


class DevicesOut(ReportOut):
    """Sessions by device class."""

    devices: list[DeviceRow]


class FunnelStep(BaseModel):
    step: str
    sessions: int
    conversion_from_start: float
    conversion_from_previous: float


class FunnelOut(ReportOut):
    """Sessions reaching each step, and conversion rates."""

    funnel: list[FunnelStep]


class DashboardLinkIn(BaseModel):
    """No options yet; send ``{}``."""

    model_config = ConfigDict(extra="forbid")


class DashboardLinkOut(BaseModel):
    """A link to the analytics page, valid for 15 minutes."""

    url: str
    expires_at: int
