import sys

from flovtrain.cli import main

sys.exit(main())
