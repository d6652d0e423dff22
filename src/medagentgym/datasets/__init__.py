"""One package per dataset; each exposes a module-level ``DATASET`` (see catalog.registry)."""
