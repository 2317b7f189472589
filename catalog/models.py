"""The service catalog (filled by the catalog issue)."""
