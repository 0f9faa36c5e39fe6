"""Tenants, their owners and API keys.

A key is ``lq_<key_id>_<secret>``. Only sha256(secret) is stored: the secret is
random (256 bits), so a fast hash is enough and keeps authentication cheap.
Verified keys are cached per process and database for ``auth_cache_seconds``
(see ``auth_cache``): a request with a cached key costs no query.

The journal-entry API names its tenant in the body (``domain_url``) rather than
with X-Tenant: ``authenticate_domain`` turns it into a slug and authenticates on
that slug exactly as X-Tenant does, so the same ownership rule and cache apply.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import re
import secrets
import weakref
from dataclasses import dataclass

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.ledger.errors import BadInput, Conflict, Forbidden, NotFound, Unauthenticated
from app.ledger.keycache import KeyCache
from app.ledger.money import check_currency
from app.ledger.text import check_text, column_length
from app.runtime.settings import Settings
from db.engine import Database, dialect_insert
from db.tables import ApiKey, Journal, Tenant, User, utcnow

DEFAULT_JOURNAL_CODE = "GENERAL"
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")  # fullmatch: "$" takes a "\n"
# RFC 1123 host names: labels of 1-63 letters, digits and inner dashes.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
MAX_DOMAIN = 253
_PREFIX = re.compile(r"[A-Z0-9]{1,20}")
# Matches no tenant (a slug has no dot): authenticates a key without selecting a tenant.
_NO_TENANT = "."


@dataclass(frozen=True)
class Principal:
    """Who is calling, and on which tenant's books."""

    user_id: int
    key_id: str
    tenant_id: int
    tenant_slug: str
    base_currency: str
    read_only: bool
    # The key's rate-limit overrides (api_keys.rate_limits, JSON): read with the key,
    # so enforcing them costs no query.
    rate_limits: str | None = None


# One cache per Database: tests (and tools) use SQLite and PostgreSQL in one process.
_AUTH_CACHES: weakref.WeakKeyDictionary[Database, KeyCache[Principal]] = weakref.WeakKeyDictionary()


def auth_cache(db: Database) -> KeyCache[Principal]:
    """The principals verified against ``db`` by this process, made on first use."""
    cache = _AUTH_CACHES.get(db)
    if cache is None:
        cache = _AUTH_CACHES[db] = KeyCache(Settings.from_env().auth_cache_seconds)
    return cache


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    key: str  # shown once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key() -> tuple[str, str, str]:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"lq_{key_id}_{secret}"


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        raise BadInput(
            f"tenant slug {slug!r} must be lower-case letters, digits and dashes", field="slug"
        )
    return slug


async def _issue_key(
    session: AsyncSession, *, user_id: int, tenant_id: int | None, read_only: bool
) -> IssuedKey:
    key_id, secret, key = _new_key()
    session.add(
        ApiKey(
            key_id=key_id,
            secret_hash=_hash(secret),
            user_id=user_id,
            tenant_id=tenant_id,
            read_only=read_only,
        )
    )
    await session.flush()
    return IssuedKey(key_id=key_id, key=key)


async def create_tenant(
    db: Database, *, slug: str, name: str, currency: str, owner: str | None = None
) -> tuple[Tenant, IssuedKey]:
    """A tenant with its default journal, its owner (created when new) and a first key."""
    check_slug(slug)
    check_currency(currency)
    name = check_text(name, field="name", max_length=column_length(Tenant, "name"))
    owner_name = check_text(owner or slug, field="owner", max_length=column_length(User, "name"))
    async with db.write() as session:
        if await session.scalar(select(col(Tenant.id)).where(col(Tenant.slug) == slug)) is not None:
            raise Conflict(f"tenant {slug!r} already exists", field="slug")
        # Insert-or-nothing, then read: two tenants created at once for one new owner
        # must not collide on the owner's unique name.
        user_id = await session.scalar(
            dialect_insert(session, User)
            .values(name=owner_name, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(col(User.id))
        )
        if user_id is None:
            user_id = await session.scalar(select(col(User.id)).where(col(User.name) == owner_name))
        assert user_id is not None
        tenant = Tenant(slug=slug, name=name, owner_user_id=user_id, base_currency=currency)
        session.add(tenant)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent create of the same slug won the race
            raise Conflict(f"tenant {slug!r} already exists", field="slug") from None
        assert tenant.id is not None
        session.add(Journal(tenant_id=tenant.id, code=DEFAULT_JOURNAL_CODE, name="General journal"))
        issued = await _issue_key(session, user_id=user_id, tenant_id=None, read_only=False)
    # A key without X-Tenant that reached one tenant of this owner now reaches two (400).
    auth_cache(db).drop(lambda principal: principal.user_id == user_id)
    return tenant, issued


async def create_key(
    db: Database, *, slug: str, restrict: bool = False, read_only: bool = False
) -> IssuedKey:
    """A new key for the owner of ``slug``; ``restrict`` limits it to that tenant."""
    async with db.write() as session:
        tenant = await session.scalar(select(Tenant).where(col(Tenant.slug) == slug))
        if tenant is None:
            raise NotFound(f"tenant {slug!r} does not exist", field="slug")
        return await _issue_key(
            session,
            user_id=tenant.owner_user_id,
            tenant_id=tenant.id if restrict else None,
            read_only=read_only,
        )


async def revoke_key(db: Database, key_id: str) -> None:
    """Revokes ``key_id``: at once in this process, within ``auth_cache_seconds`` in others."""
    async with db.write() as session:
        key = await session.scalar(select(ApiKey).where(col(ApiKey.key_id) == key_id))
        if key is None:
            raise NotFound(f"key {key_id!r} does not exist", field="key_id")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
    # After the commit: a verification that read the key before it is voided by the drop.
    auth_cache(db).drop(lambda principal: principal.key_id == key_id)


def check_domain(domain: str, *, field: str = "domain") -> str:
    """``domain`` as stored: a full host name (two labels or more), lower-cased.

    One trailing dot (the absolute form) is dropped; anything that is not a host
    name (a URL, a port, an IP address, non-ASCII: give IDNs in punycode) is refused.
    """
    if not isinstance(domain, str):
        raise BadInput("a domain must be a string", field=field)
    name = domain.strip().lower().removesuffix(".")
    labels = name.split(".")
    if (
        len(name) > MAX_DOMAIN
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # an IPv4 address, not a domain
    ):
        raise BadInput(
            f"{domain!r} is not a full domain such as acme-corp.example.com: dot-separated "
            f"labels of letters, digits and dashes, at most {MAX_DOMAIN} characters",
            field=field,
        )
    return name


def domain_host(domain_url: str, *, field: str = "domain_url") -> str:
    """The tenant name in ``domain_url``: a slug, a full domain, or an http(s) URL of one.

    A URL may only be ``scheme://host`` with an optional ``/``: a path, query,
    port or user part names something else, and is refused rather than ignored.
    """
    if not isinstance(domain_url, str) or not domain_url.strip():
        raise BadInput("domain_url must be a tenant slug or domain", field=field)
    text = domain_url.strip()
    scheme, sep, rest = text.partition("://")
    if sep:
        host = rest.removesuffix("/")
        if scheme.lower() not in ("http", "https") or any(c in host for c in "/?#@:"):
            raise BadInput(
                f"{domain_url!r}: a URL may only be http(s)://DOMAIN/, "
                "without path, query, port or user",
                field=field,
            )
        text = host
    if "." not in text:
        try:
            return check_slug(text.lower())
        except BadInput:
            raise BadInput(
                f"{domain_url!r} is neither a tenant slug nor a full domain", field=field
            ) from None
    return check_domain(text, field=field)


@dataclass(frozen=True)
class TenantView:
    slug: str
    name: str
    base_currency: str
    domain: str | None
    journal_prefix: str
    lock_date: dt.date | None

    @classmethod
    def of(cls, tenant: Tenant) -> TenantView:
        return cls(
            slug=tenant.slug,
            name=tenant.name,
            base_currency=tenant.base_currency,
            domain=tenant.domain,
            journal_prefix=tenant.journal_prefix,
            lock_date=tenant.lock_date,
        )


def check_journal_prefix(prefix: str, *, field: str = "journalPrefix") -> str:
    """A journal-number prefix (``DEP`` in DEP-2026-06-03-0001): 1-20 of A-Z and 0-9."""
    upper = prefix.strip().upper() if isinstance(prefix, str) else ""
    if not _PREFIX.fullmatch(upper):
        raise BadInput(
            f"journal prefix {prefix!r} must be 1 to 20 letters A-Z or digits", field=field
        )
    return upper


@dataclass(frozen=True)
class TenantChanges:
    """What ``update_tenant`` changes; a field left at its default is kept."""

    domain: str | None = None
    clear_domain: bool = False
    journal_prefix: str | None = None


async def get_tenant(db: Database, tenant_id: int) -> TenantView:
    async with db.read() as session:
        tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    return TenantView.of(tenant)


async def update_tenant(db: Database, slug: str, changes: TenantChanges) -> TenantView:
    """Applies ``changes`` to tenant ``slug`` in one transaction, all checked first."""
    domain = None if changes.domain is None else check_domain(changes.domain)
    prefix = (
        None if changes.journal_prefix is None else check_journal_prefix(changes.journal_prefix)
    )
    try:
        async with db.write() as session:
            tenant = await session.scalar(select(Tenant).where(col(Tenant.slug) == slug))
            if tenant is None:
                raise NotFound(f"tenant {slug!r} does not exist", field="slug")
            if domain is not None and domain != tenant.domain:
                taken = await session.scalar(
                    select(col(Tenant.slug)).where(col(Tenant.domain) == domain)
                )
                if taken is not None:
                    raise Conflict(
                        f"domain {domain!r} is already recorded by another tenant", field="domain"
                    )
                tenant.domain = domain
            elif changes.clear_domain:
                tenant.domain = None
            if prefix is not None:
                tenant.journal_prefix = prefix
            view = TenantView.of(tenant)
    except IntegrityError:  # a concurrent update recorded the same domain first
        raise Conflict(
            f"domain {domain!r} is already recorded by another tenant", field="domain"
        ) from None
    return view


async def set_tenant_domain(db: Database, slug: str, domain: str | None) -> TenantView:
    """Records ``domain`` as the full domain of ``slug`` (None clears it)."""
    changes = (
        TenantChanges(domain=domain) if domain is not None else TenantChanges(clear_domain=True)
    )
    return await update_tenant(db, slug, changes)


async def set_journal_prefix(db: Database, slug: str, prefix: str) -> TenantView:
    """The prefix of the tenant's next journal numbers; numbers already given stay."""
    return await update_tenant(db, slug, TenantChanges(journal_prefix=prefix))


async def resolve_domain(db: Database, domain_url: str) -> str | None:
    """The slug of the tenant ``domain_url`` names, or None when no tenant has it.

    A slug names its tenant; a full domain names the tenant that records it, or
    else, when its first label is the slug of a tenant that records no domain,
    that tenant (SPEC: "a full domain that starts with it"). A tenant that records
    its domain is reached by no other one, so a mistyped domain is a 404.
    """
    host = domain_host(domain_url)
    if "." not in host:
        return host
    first_label = host.split(".", 1)[0]
    query = select(col(Tenant.slug), col(Tenant.domain)).where(
        or_(
            col(Tenant.domain) == host,
            and_(col(Tenant.slug) == first_label, col(Tenant.domain).is_(None)),
        )
    )
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    # The recorded domain wins over a first label (two different tenants at most).
    ranked = sorted(rows, key=lambda row: row.domain != host)
    return ranked[0].slug if ranked else None


async def _slug_exists(db: Database, slug: str) -> bool:
    async with db.read() as session:
        found = await session.scalar(select(col(Tenant.id)).where(col(Tenant.slug) == slug))
    return found is not None


async def check_key(db: Database, key: str | None) -> None:
    """Unauthenticated unless ``key`` is a valid, unrevoked key (whichever tenants it reaches)."""
    with contextlib.suppress(Forbidden):  # valid, but reaches no tenant named "."
        await authenticate(db, key, _NO_TENANT)


async def authenticate_domain(db: Database, key: str | None, domain_url: str) -> Principal:
    """The principal of ``key`` on the tenant ``domain_url`` names.

    401 for a missing or bad key (whatever the domain), 404 for a tenant that does
    not exist, 403 for one the key's user does not own or a restricted key does not
    reach; nothing is written either way. The domain is resolved on every call
    (one indexed query; none for a slug), so a changed domain takes effect at once;
    the key check on the slug is the cached one of X-Tenant.
    """
    if not key:
        raise Unauthenticated("an API key is required: X-API-Key: <key> or Authorization: Bearer")
    try:
        slug = await resolve_domain(db, domain_url)
    except BadInput:
        await check_key(db, key)  # a bad key is a 401 whatever the body says
        raise
    try:
        return await authenticate(db, key, slug or _NO_TENANT)
    except Forbidden:
        if slug is None or not await _slug_exists(db, slug):
            raise NotFound(f"tenant {domain_url!r} does not exist", field="domain_url") from None
        raise Forbidden(
            f"this key has no access to tenant {domain_url!r}", field="domain_url"
        ) from None


async def authenticate(db: Database, key: str | None, tenant_slug: str | None) -> Principal:
    """The principal of ``key`` on the tenant it selects; never another user's tenant."""
    if not key:
        raise Unauthenticated("an API key is required: Authorization: Bearer <key> or X-API-Key")
    cache = auth_cache(db)
    # Keyed by a hash of the whole key, secret included: only the exact key that
    # was verified can hit, and the secret itself is not kept in memory.
    cache_key = (hashlib.sha256(key.encode()).digest(), tenant_slug)
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    ticket = cache.ticket()
    principal = await _verify(db, key, tenant_slug)
    cache.put(cache_key, principal, ticket)
    return principal


async def _verify(db: Database, key: str, tenant_slug: str | None) -> Principal:
    """The principal of ``key`` on the tenant it selects, read from the database."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "lq":
        raise Unauthenticated("the API key is not valid")
    _, key_id, secret = parts
    conditions = [
        col(Tenant.owner_user_id) == col(ApiKey.user_id),
        or_(col(ApiKey.tenant_id).is_(None), col(Tenant.id) == col(ApiKey.tenant_id)),
    ]
    if tenant_slug:
        conditions.append(col(Tenant.slug) == tenant_slug)
    query = (
        # One round trip: the key and the tenants it reaches (none: the outer join's NULLs).
        sa_select(
            col(ApiKey.secret_hash),
            col(ApiKey.revoked_at),
            col(ApiKey.user_id),
            col(ApiKey.read_only),
            col(ApiKey.rate_limits),
            col(Tenant.id),
            col(Tenant.slug),
            col(Tenant.base_currency),
        )
        .select_from(ApiKey)
        .outerjoin(Tenant, and_(*conditions))
        .where(col(ApiKey.key_id) == key_id)
        .limit(2)
    )
    async with db.read() as session:
        rows = (await session.execute(query)).all()
    if (
        not rows
        or rows[0].revoked_at is not None
        or not hmac.compare_digest(rows[0].secret_hash, _hash(secret))
    ):
        raise Unauthenticated("the API key is not valid or has been revoked")
    tenants = [row for row in rows if row.id is not None]
    if not tenants:
        raise Forbidden(
            f"this key has no access to tenant {tenant_slug!r}"
            if tenant_slug
            else "this key has no tenant"
        )
    if len(tenants) > 1:
        raise BadInput("this key reaches several tenants: choose one with the X-Tenant header")
    tenant = tenants[0]
    return Principal(
        user_id=tenant.user_id,
        key_id=key_id,
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        base_currency=tenant.base_currency,
        read_only=tenant.read_only,
        rate_limits=tenant.rate_limits,
    )
