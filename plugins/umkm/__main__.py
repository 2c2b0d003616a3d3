import sys

from umkm.cli import main

sys.exit(main())
