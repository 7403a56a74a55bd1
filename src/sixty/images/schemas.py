"""What the image compressor accepts and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from sixty.core.i18n import N_

Fit = Literal["fit", "fill"]
OutputFormat = Literal["jpeg", "png", "webp", "avif"]
MAX_TARGET_BYTES = 100 * 1024 * 1024


class CompressOptions(BaseModel):
    """The form fields of `POST /api/images/compress` (beside the file). Width and height are
    checked against `SIXTY_IMAGES_MAX_DIMENSION` by the router."""

    model_config = ConfigDict(extra="forbid")

    format: OutputFormat | None = Field(
        default=None, description="Output format; default: the input's (PNG for a GIF)."
    )
    width: int | None = Field(default=None, ge=1, description="Largest width (fit) or exact width (fill).")
    height: int | None = Field(default=None, ge=1, description="Largest height (fit) or exact height (fill).")
    fit: Fit = Field(
        default="fit",
        description="`fit`: inside width x height, aspect kept, never enlarged; `fill`: exactly "
        "width x height, scaled to cover and centre-cropped.",
    )
    quality: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Lossy formats: 1-100 (default per format, see /api/images/formats); with "
        "`target_bytes`, the highest quality tried. Ignored for PNG.",
    )
    target_bytes: int | None = Field(
        default=None,
        ge=100,
        le=MAX_TARGET_BYTES,
        description="Byte budget: the highest quality that fits is found by binary search; 422 "
        "`target_unreachable` when even the lowest does not fit.",
    )
    keep_metadata: bool = Field(
        default=False,
        description="Keep EXIF (camera, date...) without its GPS position. By default all EXIF, "
        "XMP and comments are dropped; the colour profile is always kept.",
    )

    @model_validator(mode="after")
    def _fill_needs_a_box(self) -> CompressOptions:
        if self.fit == "fill" and (self.width is None or self.height is None):
            raise ValueError(N_("fit=fill needs both width and height."))
        return self


class ImageFormat(BaseModel):
    format: str = Field(description="The name to ask for in `format`.")
    media_type: str
    extension: str
    lossy: bool
    default_quality: int | None = Field(description="Quality used when none is asked (lossy formats).")


FORMATS_EXAMPLE: JsonDict = {
    "inputs": [
        {
            "format": "jpeg",
            "media_type": "image/jpeg",
            "extension": "jpg",
            "lossy": True,
            "default_quality": 82,
        },
        {
            "format": "gif",
            "media_type": "image/gif",
            "extension": "gif",
            "lossy": False,
            "default_quality": None,
        },
    ],
    "outputs": [
        {
            "format": "webp",
            "media_type": "image/webp",
            "extension": "webp",
            "lossy": True,
            "default_quality": 80,
        },
        {
            "format": "avif",
            "media_type": "image/avif",
            "extension": "avif",
            "lossy": True,
            "default_quality": 60,
        },
    ],
}


class ImageFormats(BaseModel):
    """What this installation reads and writes (AVIF when the installed Pillow has libavif)."""

    model_config = ConfigDict(json_schema_extra={"examples": [FORMATS_EXAMPLE]})

    inputs: list[ImageFormat]
    outputs: list[ImageFormat]


PRESET_EXAMPLE: JsonDict = {
    "name": "thumb",
    "width": 256,
    "height": 256,
    "fit": "fill",
    "format": "webp",
    "quality": 75,
}


class PresetRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PRESET_EXAMPLE]})

    name: str
    width: int | None
    height: int | None
    fit: Fit
    format: OutputFormat
    quality: int | None


class PresetList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [PRESET_EXAMPLE]}]})

    items: list[PresetRead]


class VariantLinkCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"preset": "thumb", "expires_in": 86400}]}
    )

    preset: str = Field(min_length=1, max_length=32, description="One of /api/images/presets.")
    expires_in: int = Field(
        default=86400,
        ge=1,
        description="Seconds the link works; at most `SIXTY_IMAGES_LINK_MAX_TTL`.",
    )


LINK_EXAMPLE: JsonDict = {
    "file_id": "6f2b6c1e-3d5a-4c4e-9a53-2b1f8e0d7c41",
    "preset": "thumb",
    "url": "http://localhost:8000/api/images/variants/6f2b6c1e-3d5a-4c4e-9a53-2b1f8e0d7c41/thumb"
    "?owner=0b1e9c1a-2f0e-4d8a-9a55-7c0f5d1e2a3b&expires=1795000000&signature=q1v7...",
    "expires_at": "2026-11-28T09:30:00Z",
}


class VariantLinkRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [LINK_EXAMPLE]})

    file_id: uuid.UUID
    preset: str
    url: str = Field(description="Anyone with this URL gets the variant until `expires_at`.")
    expires_at: datetime
