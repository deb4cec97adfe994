"""Command line: python -m analysis mock|rank|import|waves|init-db."""

from analysis.cli import main

raise SystemExit(main())
