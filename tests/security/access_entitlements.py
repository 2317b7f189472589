"""Who may open each URL of this area; merged into tests/security/access.py's ACCESS."""

from .access import Access  # noqa: F401 - the building blocks entries use

ACCESS: dict[str, Access] = {}
