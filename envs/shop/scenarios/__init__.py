"""The shop's scenarios, one module per theme; each module's `register(env)` adds its scenarios."""
