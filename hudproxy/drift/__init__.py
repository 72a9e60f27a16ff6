"""Drift: does the live system still answer what a cassette recorded?

The comparison is plain data in, plain data out (`pointers`, `jsondiff`, `volatile`, `responses`, `tools`,
`report`, `age`); only `live_http`, `live_mcp`, `verify` and `verify_mcp` talk to live systems. The CLI
(`hudproxy verify`, `hudproxy check`) and the pytest plugin's `--hudproxy-max-age` sit on top.
"""
