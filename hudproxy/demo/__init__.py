"""The bundled example, end to end: record the shop, stop it, replay, compare."""
