"""Path and query parameters shared by the registry's routers, each with its size or range."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from services.registry.models import NAME_LENGTH
from services.registry.validation import MAX_INT

_NAME = r"^[A-Za-z0-9._-]+$"
ModelName = Annotated[str, Path(min_length=1, max_length=NAME_LENGTH, pattern=_NAME, description="model name")]
AliasName = Annotated[str, Path(min_length=1, max_length=NAME_LENGTH, pattern=_NAME, description="alias name")]
TokenName = Annotated[str, Path(min_length=1, max_length=NAME_LENGTH, pattern=_NAME, description="token name")]
TagKey = Annotated[str, Path(min_length=1, max_length=NAME_LENGTH, pattern=r"^[A-Za-z0-9._:-]+$")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT, description="version number")]
Limit = Annotated[int, Query(ge=1, le=10_000)]
