"""The encrypted link between a unit and its peer (sans-I/O core + UDP adapter)."""
