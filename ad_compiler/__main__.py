import sys

from ad_compiler.cli import main

sys.exit(main())
