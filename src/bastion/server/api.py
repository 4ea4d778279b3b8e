"""The REST API: thin routes over the domain services; every route names its permission."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from bastion.audit import Outcome
from bastion.server.accounts import User
from bastion.server.auditing import ServerAction, auth_event
from bastion.server.auth import authorize, client_address
from bastion.server.context import context_of
from bastion.server.errors import BadRequestError
from bastion.server.login import perform_step_up
from bastion.server.params import RowId
from bastion.server.permissions import Permission
from bastion.server.principal import Grant, Principal, TokenScope
from bastion.server.routing import guarded
from bastion.server.schemas import (
    GrantBody,
    GrantOut,
    HealthOut,
    MeOut,
    NewUserBody,
    NewUserOut,
    StepUpBody,
    TokenBody,
    TokenCreatedOut,
    TokenOut,
    UserOut,
)
from bastion.server.tokens import TokenInfo

__all__ = ["router"]

router = APIRouter(prefix="/api")


SignedIn = Annotated[Principal, Depends(authorize(Permission.SIGNED_IN))]
TokenManager = Annotated[Principal, Depends(authorize(Permission.TOKENS_MANAGE))]
TokenCreator = Annotated[Principal, Depends(authorize(Permission.TOKENS_CREATE))]
UserReader = Annotated[Principal, Depends(authorize(Permission.USERS_READ))]
UserManager = Annotated[Principal, Depends(authorize(Permission.USERS_MANAGE))]
RoleChanger = Annotated[Principal, Depends(authorize(Permission.ROLES_CHANGE))]


def _record(request: Request, actor: str, action: ServerAction, subject: str) -> None:
    event = auth_event(actor, action, subject, Outcome.SUCCESS, client_address(request))
    context_of(request).services.audit.record(event)


def _grants(user_grants: tuple[Grant, ...]) -> list[GrantOut]:
    return [GrantOut(role=g.role, scope=g.scope, name=g.name) for g in user_grants]


def _user_out(user: User) -> UserOut:
    return UserOut(
        name=user.name,
        disabled=user.disabled,
        mfa=user.mfa,
        created_at=user.created_at,
        grants=_grants(user.grants),
    )


def _token_out(token: TokenInfo) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        repositories=sorted(token.scope.repositories),
        permissions=sorted(token.scope.permissions),
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


@router.get("/health", **guarded(Permission.PUBLIC))
def health() -> HealthOut:
    """Liveness: answers without touching anything secret."""
    return HealthOut(status="ok")


@router.get("/me", **guarded(Permission.SIGNED_IN))
def me(request: Request, principal: SignedIn) -> MeOut:
    """The caller, its roles and whether it has MFA."""
    user = context_of(request).accounts.get(principal.user_id)
    mfa = user.mfa if user else False
    return MeOut(name=principal.name, via=principal.via, mfa=mfa, grants=_grants(principal.grants))


@router.post("/step-up", **guarded(Permission.SIGNED_IN))
def step_up(request: Request, response: Response, body: StepUpBody, principal: SignedIn) -> MeOut:
    """Re-enter a TOTP code; the session is rotated and counts as stepped up for a while."""
    perform_step_up(request, response, principal, body.code)
    return me(request, principal)


@router.get("/tokens", **guarded(Permission.TOKENS_MANAGE))
def tokens(request: Request, principal: TokenManager) -> list[TokenOut]:
    """The caller's own tokens (never their values)."""
    return [_token_out(t) for t in context_of(request).tokens.list(principal.user_id)]


@router.post("/tokens", status_code=201, **guarded(Permission.TOKENS_CREATE))
def create_token(request: Request, body: TokenBody, principal: TokenCreator) -> TokenCreatedOut:
    """A new token of the caller, narrowed to the scope asked; its value is shown once."""
    ctx = context_of(request)
    scope = TokenScope(frozenset(body.repositories), frozenset(body.permissions))
    info, value = ctx.tokens.create(principal.user_id, body.name, scope, body.expires_in_days)
    _record(request, principal.actor, ServerAction.TOKEN_CREATED, f"token/{info.id}")
    return TokenCreatedOut(**_token_out(info).model_dump(), token=value)


@router.delete("/tokens/{token_id}", **guarded(Permission.TOKENS_MANAGE))
def revoke_token(request: Request, token_id: RowId, principal: TokenManager) -> TokenOut:
    """Revoke one of the caller's tokens."""
    info = context_of(request).tokens.revoke(principal.user_id, token_id)
    _record(request, principal.actor, ServerAction.TOKEN_REVOKED, f"token/{info.id}")
    return _token_out(info)


@router.get("/users", **guarded(Permission.USERS_READ))
def users(request: Request, principal: UserReader) -> list[UserOut]:
    """Every account."""
    return [_user_out(u) for u in context_of(request).accounts.list()]


@router.post("/users", status_code=201, **guarded(Permission.USERS_MANAGE))
def add_user(request: Request, body: NewUserBody, principal: UserManager) -> NewUserOut:
    """A new account and its one-time setup link (a role given here needs no step-up:
    only an admin adds accounts, and the holder must still set a password)."""
    ctx = context_of(request)
    user, token = ctx.accounts.add(body.name, body.role)
    _record(request, principal.actor, ServerAction.USER_CREATED, f"user/{user.name}")
    return NewUserOut(**_user_out(user).model_dump(), setup_link=ctx.accounts.setup_link(token))


@router.post("/users/{name}/disable", **guarded(Permission.USERS_MANAGE))
def disable_user(request: Request, name: str, principal: UserManager) -> UserOut:
    """Disable an account and end its sessions."""
    if name == principal.name:
        raise BadRequestError("an admin cannot disable their own account")
    user = context_of(request).accounts.disable(name)
    _record(request, principal.actor, ServerAction.USER_DISABLED, f"user/{user.name}")
    return _user_out(user)


@router.post("/users/{name}/grants", **guarded(Permission.ROLES_CHANGE))
def grant_role(request: Request, name: str, body: GrantBody, principal: RoleChanger) -> UserOut:
    """Give an account a role on the instance, a repository or an environment."""
    ctx = context_of(request)
    user = ctx.accounts.grant(name, Grant(body.role, body.scope, body.name))
    event = auth_event(
        principal.actor,
        ServerAction.ROLE_GRANTED,
        f"user/{name}",
        Outcome.SUCCESS,
        client_address(request),
        role=body.role.value,
        scope=f"{body.scope.value}:{body.name}",
    )
    ctx.services.audit.record(event)
    return _user_out(user)
