"""``python -m execscope.runner CONFIG_JSON``, by hand; the session starts the runner
through a boot script of its own (see ``session.RUNNER_BOOT``)."""

import sys

if __name__ == "__main__":
    from execscope.runner.main import main

    sys.exit(main())
