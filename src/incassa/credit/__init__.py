"""Credit health: KPIs, scores, limits."""
