"""``python -m execscope.runner CONFIG_JSON`` (started by the session, not by hand)."""

import sys

if __name__ == "__main__":
    from execscope.runner.main import main

    sys.exit(main())
