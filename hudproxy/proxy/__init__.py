"""The mitmproxy adapters: the only package that imports mitmproxy.

`record_addon` records through a reverse or forward proxy; `replay_addon` answers a forward proxy's requests
from the replay core without ever opening an upstream connection; `runner` runs mitmproxy in-process; `ca`
owns hudproxy's certificate authority for TLS interception.
"""
