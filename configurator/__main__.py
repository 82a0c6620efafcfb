import sys

from configurator.entrypoints.cli import main

sys.exit(main())
