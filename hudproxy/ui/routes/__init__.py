"""The pages, one module per subject; each a FastAPI router of GET routes rendering a template."""
