import sys

from execscope.cli import main

sys.exit(main())
