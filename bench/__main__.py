import sys

from bench.cli import run_cli

sys.exit(run_cli())
