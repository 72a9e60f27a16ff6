"""The plugin tests run small pytest projects with `pytester`.

pytester is enabled from `pytest_configure` rather than `pytest_plugins = ["pytester"]`: pytest refuses
`pytest_plugins` in a conftest below the rootdir when the whole suite runs (`pytest` from the repository root).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
