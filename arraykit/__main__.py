import sys

from arraykit.cli import main

sys.exit(main())
