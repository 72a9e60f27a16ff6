"""Read-only queries the pages make: each a LIMIT query, so a page costs the same at any size."""
