import sys

from nbw2v.app.cli import main

sys.exit(main())
