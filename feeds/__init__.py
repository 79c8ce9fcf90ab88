"""Reading upstream sources, keeping articles, rendering, publishing and serving localised feeds."""
