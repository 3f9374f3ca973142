"""``/api/tokens``: API tokens (admin)."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.registry.deps import Admin, StoreDep
from services.registry.routes.params import TokenName
from services.registry.schemas import TokenCreate, TokenCreated, TokenPublic

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("")
def list_tokens(store: StoreDep, who: Admin) -> list[TokenPublic]:
    """Every token (never their values)."""
    return [TokenPublic.model_validate(t) for t in store.list_tokens(who)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, store: StoreDep, who: Admin) -> TokenCreated:
    """Create a token; its value is in this response only."""
    info, plain = store.create_token(body.name, body.role, who)
    return TokenCreated(**info.to_dict(), token=plain)


@router.delete("/{token_name}")
def revoke_token(token_name: TokenName, store: StoreDep, who: Admin) -> TokenPublic:
    """Revoke a token; it stops working at once."""
    return TokenPublic.model_validate(store.revoke_token(token_name, who))
