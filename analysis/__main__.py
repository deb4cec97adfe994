"""Command line: python -m analysis mock|rank|import|waves|init-db."""

from analysis.cli.main import main

raise SystemExit(main())
