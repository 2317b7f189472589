"""Who may open each URL of this area; merged into tests/security/access.py's ACCESS."""

from .access import Access

ACCESS: dict[str, Access] = {}
