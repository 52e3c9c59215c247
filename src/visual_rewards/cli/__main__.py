"""``python -m visual_rewards.cli``: the same command line as ``visual-rewards``."""

import sys

from visual_rewards.cli import main

if __name__ == "__main__":
    sys.exit(main())
