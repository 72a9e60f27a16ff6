"""`hudproxy.serving`: the open-file limit a server lifts before it accepts thousands of connections."""

from __future__ import annotations

import resource
import subprocess
import sys

SCRIPT = """
import resource
from hudproxy.serving import raise_fd_limit
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
print(raise_fd_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
"""


def test_the_soft_open_file_limit_is_raised_to_the_hard_one() -> None:
    """A process started with a low soft limit (256) ends up with its hard limit, and says so."""
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    returned, soft, hard = (int(n) for n in done.stdout.split())
    expected = hard if hard != resource.RLIM_INFINITY else 1_048_576
    assert returned == soft == expected > 256
