"""Virtual marketplaces, audiences and service requests (filled by the entitlements issue)."""
