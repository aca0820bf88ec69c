"""`python -m jamba_emulator`: the same as the `jamba-emulator` command."""

from .cli import main

raise SystemExit(main())
