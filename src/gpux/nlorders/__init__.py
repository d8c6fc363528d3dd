"""Plain-English order text -> structured order (pure, deterministic, offline)."""
