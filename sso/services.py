"""Sign-in through a customer's own identity provider (I1): configuring it, finding it from an
e-mail domain, and deciding who a sign-in from it may open."""

import re
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from accounts.models import User
from customers.models import Customer
from customers.scope import customer_accounts, customer_of, is_msp_staff
from customers.services import msp_mode_required_check
from msp_portal.audit import audit_record
from msp_portal.errors import DomainError, NotAllowed
from msp_portal.tenancy import CHANGE

from .models import IdentityProvider, SignInDomain
from .vault import secret_seal

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_DOMAINS = 50


class SignInRefused(DomainError):
    """A sign-in through an identity provider that may not open any account."""


def domain_normalise(text: str) -> str:
    """A lower-case e-mail domain in its ASCII (IDNA) form, or a DomainError saying what is wrong."""
    raw = text.strip().lower().rstrip(".")
    if raw.startswith("@"):
        raw = raw[1:]
    try:
        domain = raw.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    labels = domain.split(".")
    if (
        not domain
        or len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        shown = text.strip()[:80] or "(empty)"
        raise DomainError(
            f"“{shown}” is not an e-mail domain. Enter domains such as example.com, one per line."
        )
    return domain


def domains_parse(text: str) -> list[str]:
    """The domains typed one per line (or separated by commas or spaces), each checked once."""
    found: list[str] = []
    for part in re.split(r"[\s,;]+", text or ""):
        if part and (domain := domain_normalise(part)) not in found:
            found.append(domain)
    if len(found) > MAX_DOMAINS:
        raise DomainError(f"Enter at most {MAX_DOMAINS} domains.")
    return found


def _url_check(url: str, what: str) -> None:
    """HTTPS only, except loopback addresses (a provider on the same host, as in the tests)."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https" or (
        parsed.scheme == "http" and parsed.host in {"127.0.0.1", "localhost", "::1"}
    ):
        return
    raise DomainError(
        f"The {what} must start with https:// (plain http is allowed only on 127.0.0.1)."
    )


def saml_metadata_read(*, url: str, xml: str, entity_id: str) -> dict:
    """The IdP's entity id, sign-in URL and signing certificate from its metadata (URL or XML)."""
    if url:
        _url_check(url, "metadata URL")
        try:
            response = httpx.get(url, timeout=settings.SSO_FETCH_TIMEOUT, follow_redirects=False)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise DomainError(
                f"The metadata URL could not be read ({type(error).__name__}). Check the address, "
                "or paste the metadata XML instead."
            ) from error
        xml = response.text
    if not xml.strip():
        raise DomainError("Give the IdP metadata: its URL or the XML itself.")
    if len(xml) > 1_000_000:
        raise DomainError(
            "The metadata is larger than 1 MB; paste only the IdP's EntityDescriptor."
        )
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml, entity_id=entity_id or None)
    except Exception as error:  # lxml, defusedxml and the parser raise many kinds
        raise DomainError(
            "The metadata is not SAML 2.0 IdP metadata the portal can read "
            f"({type(error).__name__}). Download it again from the identity provider."
        ) from error
    idp = parsed.get("idp") or {}
    sso_url = (idp.get("singleSignOnService") or {}).get("url", "")
    cert = idp.get("x509cert") or ((idp.get("x509certMulti") or {}).get("signing") or [""])[0]
    if not idp.get("entityId") or not sso_url or not cert:
        raise DomainError(
            "The metadata names no IdP entity, sign-in (SingleSignOnService) URL or signing "
            "certificate"
            + (" for that entity ID" if entity_id else "")
            + ". Check the entity ID, or download the metadata again."
        )
    _url_check(sso_url, "IdP sign-in URL in the metadata")
    slo_url = (idp.get("singleLogoutService") or {}).get("url", "")
    return {"entity_id": idp["entityId"], "sso_url": sso_url, "x509cert": cert, "slo_url": slo_url}


@dataclass(frozen=True)
class SsoSettings:
    kind: str
    enabled: bool
    domains: list[str]
    local_passwords_allowed: bool
    match_by: str
    login_attribute: str
    oidc_issuer: str = ""
    client_id: str = ""
    secret: str = ""
    scopes: str = "openid email profile"
    saml_metadata_url: str = ""
    saml_metadata_xml: str = ""
    saml_entity_id: str = ""


@transaction.atomic
def customer_sso_configure(
    *, actor: User | None, customer: Customer, config: SsoSettings
) -> IdentityProvider:
    """Set a customer's identity provider and its e-mail domains; a domain of another customer is
    refused, a secret left empty keeps the saved one; audited without the secret (I1)."""
    if actor is not None and not is_msp_staff(actor, CHANGE):
        raise NotAllowed("Only catalog administrators can set how a customer's people sign in.")
    msp_mode_required_check()
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    provider = IdentityProvider.objects.filter(customer=customer).first()
    before = _snapshot(provider)
    provider = provider or IdentityProvider(customer=customer)
    domains = list(dict.fromkeys(domain_normalise(d) for d in config.domains))
    if not domains:
        raise DomainError("Enter at least one e-mail domain whose people sign in through it.")
    if staff := [d for d in domains if staff_domain(f"someone@{d}")]:
        raise DomainError(
            f"{staff[0]} is the domain of the MSP's own staff (SSO_STAFF_PROVIDER_DOMAINS); "
            "leave it out here."
        )
    taken = (
        SignInDomain.objects.filter(domain__in=domains)
        .exclude(provider__customer=customer)
        .select_related("provider__customer__company")
    )
    if taken:
        raise DomainError(
            *(
                f"{row.domain} already signs in through {row.provider.customer}: remove it there "
                "first, or leave it out here."
                for row in taken
            )
        )
    if not config.login_attribute.strip():
        raise DomainError("Name the claim or attribute that carries the e-mail or login.")
    provider.kind = config.kind
    provider.enabled = config.enabled
    provider.local_passwords_allowed = config.local_passwords_allowed
    provider.match_by = config.match_by
    provider.login_attribute = config.login_attribute.strip()
    if config.kind == IdentityProvider.Kind.OIDC:
        if not config.oidc_issuer or not config.client_id.strip():
            raise DomainError("An OpenID Connect provider needs its issuer URL and a client ID.")
        _url_check(config.oidc_issuer, "issuer URL")
        scopes = config.scopes.split()
        if "openid" not in scopes:
            scopes.insert(0, "openid")
        provider.oidc_issuer = config.oidc_issuer.rstrip("/")
        provider.client_id = config.client_id.strip()
        provider.scopes = " ".join(dict.fromkeys(scopes))[:255]
        if config.secret:
            provider.secret_encrypted = secret_seal(config.secret)
        elif not provider.secret_encrypted:
            raise DomainError("Enter the client secret the identity provider gave for the portal.")
    else:
        provider.saml_idp = saml_metadata_read(
            url=config.saml_metadata_url,
            xml=config.saml_metadata_xml,
            entity_id=config.saml_entity_id.strip(),
        )
        provider.saml_metadata_url = config.saml_metadata_url
        provider.saml_metadata_xml = "" if config.saml_metadata_url else config.saml_metadata_xml
        provider.saml_entity_id = provider.saml_idp["entity_id"]
    provider.updated_at = timezone.now()
    provider.updated_by = actor if getattr(actor, "pk", None) else None
    provider.full_clean(exclude=["customer"])
    provider.save()
    SignInDomain.objects.filter(provider=provider).exclude(domain__in=domains).delete()
    existing = set(provider.domains.values_list("domain", flat=True))
    try:
        with transaction.atomic():
            SignInDomain.objects.bulk_create(
                SignInDomain(provider=provider, domain=d) for d in domains if d not in existing
            )
    except IntegrityError as error:  # another customer claimed it a moment ago
        raise DomainError(
            "One of these domains was just given to another customer; reload and try again."
        ) from error
    after = _snapshot(provider)
    if config.secret:
        after["secret"] = "replaced"
    audit_record(
        actor=actor, action="customer.sso_configure", obj=customer, before=before, after=after
    )
    return provider


def _snapshot(provider: IdentityProvider | None) -> dict | None:
    if provider is None or provider.pk is None:
        return None
    return {
        "kind": provider.kind,
        "enabled": provider.enabled,
        "issuer": provider.oidc_issuer,
        "client_id": provider.client_id,
        "scopes": provider.scopes,
        "saml_entity_id": provider.saml_entity_id,
        "saml_metadata_url": provider.saml_metadata_url,
        "login_attribute": provider.login_attribute,
        "match_by": provider.match_by,
        "local_passwords_allowed": provider.local_passwords_allowed,
        "domains": sorted(provider.domains.values_list("domain", flat=True)),
    }


def sso_provider_for_login(login: str) -> IdentityProvider | None:
    """The enabled provider whose domain the typed e-mail address is in; None for anything else."""
    _, at, domain = (login or "").strip().rpartition("@")
    if not at:
        return None
    try:
        domain = domain_normalise(domain)
    except DomainError:
        return None
    row = (
        SignInDomain.objects.filter(domain=domain, provider__enabled=True)
        .select_related("provider")
        .first()
    )
    return row.provider if row else None


STAFF_PROVIDER_ID = "msp-staff"


def staff_provider_settings() -> dict | None:
    """The provider's own identity provider for MSP staff (settings.SSO_STAFF_PROVIDER), or None."""
    config = settings.SSO_STAFF_PROVIDER
    return config if config.get("issuer") and config.get("client_id") else None


def staff_domain(login: str) -> bool:
    """Whether the typed address is in a domain of the MSP's staff (their provider is set)."""
    config = staff_provider_settings()
    _, at, domain = (login or "").strip().rpartition("@")
    if config is None or not at:
        return False
    return domain.lower().rstrip(".") in {d.strip().lower() for d in config["domains"]}


def sso_staff_account_for(value: str) -> User:
    """The one active MSP staff account with this e-mail: the only accounts the provider's own
    identity provider may open (never a customer's person)."""
    value = (value or "").strip()
    matches = (
        list(User.objects.filter(is_active=True, is_staff=True, email__iexact=value)[:2])
        if value
        else []
    )
    if len(matches) != 1:
        raise SignInRefused(
            "Your identity provider signed you in, but the portal has no active MSP staff "
            "account with that e-mail address. Ask a system administrator."
        )
    return matches[0]


def sso_provider_get(slug: str) -> IdentityProvider | None:
    return IdentityProvider.objects.select_related("customer__company").filter(slug=slug).first()


def sso_account_for(*, provider: IdentityProvider, value: str) -> User:
    """The one active account of provider's customer whose ITSM person has this e-mail or login
    (provider.match_by); refused for anyone else, whatever the provider asserts (I1)."""
    value = (value or "").strip()
    if not provider.enabled:
        raise SignInRefused(
            "Sign-in through your company's identity provider is switched off. Ask your MSP."
        )
    if not value:
        raise SignInRefused(
            "Your identity provider did not say who you are (no e-mail or login came with the "
            "sign-in). Ask your IT to release that attribute to the portal."
        )
    accounts = customer_accounts(provider.customer)
    if provider.match_by == IdentityProvider.MatchBy.LOGIN:
        matches = list(accounts.filter(person__remedy_login_id__iexact=value)[:2])
    else:
        matches = list(accounts.filter(person__email__iexact=value)[:2])
    if len(matches) != 1:
        raise SignInRefused(
            "Your identity provider signed you in, but the portal has no active account of "
            "your company for you. Ask your company's portal administrator to give you access."
            if not matches
            else "More than one portal account matches you; ask your MSP to correct the ITSM records."
        )
    return matches[0]


def sso_sign_in_record(*, provider: IdentityProvider, user: User) -> None:
    audit_record(
        actor=user,
        action="sso.sign_in",
        obj=provider.customer,
        message=f"Signed in through the {provider.get_kind_display()} provider.",
    )


def sso_staff_sign_in_record(*, user: User) -> None:
    audit_record(
        actor=user,
        action="sso.sign_in",
        message="Signed in through the MSP's own identity provider (two-factor left to it).",
    )


def sso_refusal_record(*, provider: IdentityProvider | None, claimed: str, reason: str) -> None:
    audit_record(
        actor=None,
        actor_label=f"sign-in of {claimed or 'someone unnamed'}"[:150],
        action="sso.sign_in_refused",
        obj=provider.customer if provider else None,
        message=reason,
    )


def local_password_allowed(user: User) -> bool:
    """Whether user may sign in with a portal password: not when their customer switched it off."""
    customer = customer_of(user)
    if customer is None:
        return True
    provider = IdentityProvider.objects.filter(customer=customer, enabled=True).first()
    return provider is None or provider.local_passwords_allowed
