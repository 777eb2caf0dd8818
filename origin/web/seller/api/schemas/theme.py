"""Request and response bodies of the theme-template API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from origin.web.seller.api.schemas.common import STRICT

MAX_TEMPLATE_BYTES = 256 * 1024


class ThemeTemplateIn(BaseModel):
    model_config = STRICT

    source: str = Field(..., max_length=MAX_TEMPLATE_BYTES, description="Jinja source; it may extend the default theme's templates")


class ThemeTemplateOut(BaseModel):
    name: str
    source_length: int


class ThemeTemplateItem(BaseModel):
    name: str
    updated_at: str
    last_budget_error: str | None = Field(
        None,
        description="why shoppers last got the default theme for a page using this template: it ran over the render "
        "budget (steps, characters or time; docs/security.md); null once the template is replaced",
    )


class ThemeTemplateList(BaseModel):
    items: list[ThemeTemplateItem]


class ThemeTemplateDeleted(BaseModel):
    name: str
    deleted: bool = True


class ThemeProblem(BaseModel):
    template: str
    source_name: str | None
    line: int | None
    message: str
    kind: str = Field("error", description="budget: the template ran over its render budget; error: anything else")


class ThemeProblemList(BaseModel):
    items: list[ThemeProblem]


class ThemeStringsIn(BaseModel):
    model_config = STRICT

    strings: dict[str, str] = Field(
        ..., description="msgid (the theme's English text) -> the store's replacement; replaces every override, {} clears them"
    )


class ThemeStringItem(BaseModel):
    id: str = Field(..., description="the msgid, as the default theme writes it")
    default: str = Field(..., description="the text in the store's language, from the theme's catalog")
    override: str | None = Field(None, description="the store's replacement, if any")


class ThemeStringList(BaseModel):
    locale: str
    items: list[ThemeStringItem]


class FaviconIn(BaseModel):
    model_config = STRICT

    url: str = Field(..., max_length=2000, description="https:// URL or a path on the store's host (e.g. /media/icon.png)")


class FaviconOut(BaseModel):
    url: str | None = Field(None, description="the store's icon; null: the default drawn from the store's initial")
