"""Domain errors (see origin/errors.py for the tree).

    DomainError(ZellyError)
      invalid hostname (422)      one code per tls.hostnames error: malformed_hostname, ip_not_allowed, ...
      domain_taken (409)          another store holds the name
      domain_exists (409)         this store added it already
      unknown_domain (404)        no such domain *for this tenant*
      domain_not_active (409)     only an active domain can be primary
      dns_resolvers_invalid (503) ZELLY_DNS_RESOLVERS is unusable
"""

from __future__ import annotations

import enum

from origin.errors import ErrorKind, ZellyError
from tls.hostnames import HostnameError


class DomainErrorCode(enum.Enum):
    DOMAIN_TAKEN = "domain_taken"
    DOMAIN_EXISTS = "domain_exists"
    UNKNOWN_DOMAIN = "unknown_domain"
    DOMAIN_NOT_ACTIVE = "domain_not_active"
    INVALID_ID = "invalid_domain_id"
    DNS_RESOLVERS_INVALID = "dns_resolvers_invalid"


def _hostname_error_classes(root: type[HostnameError]) -> list[type[HostnameError]]:
    return [root, *(cls for sub in root.__subclasses__() for cls in _hostname_error_classes(sub))]


# tls/ keeps its codes as class attributes (it imports nothing from origin); this Enum is
# built from them, so a new hostname rule in tls.hostnames gets its code here without an edit.
HostnameErrorCode = enum.Enum(
    "HostnameErrorCode", {cls.code.upper(): cls.code for cls in _hostname_error_classes(HostnameError)}, module=__name__
)


class DomainError(ZellyError):
    codes = (DomainErrorCode, HostnameErrorCode)


def from_hostname_error(error: HostnameError, field: str = "hostname") -> DomainError:
    return DomainError(HostnameErrorCode(error.code), error.problem, field=field, kind=ErrorKind.INVALID)


def unknown_domain(domain_id: object) -> DomainError:
    return DomainError(DomainErrorCode.UNKNOWN_DOMAIN, f"no domain {domain_id} in this store", kind=ErrorKind.NOT_FOUND)
