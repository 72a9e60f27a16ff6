"""Other tools' traffic files in and out: HAR 1.2 (browsers, DevTools, proxies), mitmproxy flow files, vcrpy.

One small module per format with `read(path) -> Cassette` (and `write(cassette, path)` where exporting makes
sense); `formats` picks the module and scrubs what is imported, so a HAR full of tokens becomes a cassette
without them. Only `mitm` imports mitmproxy, and only when that format is used.
"""

from hudproxy.interchange.formats import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    export_cassette,
    import_file,
    read_file,
)

__all__ = ["EXPORT_FORMATS", "IMPORT_FORMATS", "export_cassette", "import_file", "read_file"]
