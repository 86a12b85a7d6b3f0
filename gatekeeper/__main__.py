"""``python -m gatekeeper``: the CLI, or the lean hook path when the first argument is ``hook``."""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "hook":
    from gatekeeper.gitio.hook import main as hook_main

    raise SystemExit(hook_main(sys.argv[2:]))

from gatekeeper.cli import main

raise SystemExit(main())
