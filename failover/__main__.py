"""``python -m failover status | move --to NODE [--dry-run]``: see failover.cli."""

import sys

from failover.cli import main

sys.exit(main())
