"""Drift: does the live system still answer what a cassette recorded?

The comparison is plain data in, plain data out (`jsondiff`, `volatile`, `http`, `tools`, `report`, `age`); only
`live_http`, `live_mcp` and `verify` talk to live systems. The CLI (`hudproxy verify`, `hudproxy check`) and the
pytest plugin's `--hudproxy-max-age` sit on top.
"""
