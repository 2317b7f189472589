#!/usr/bin/env python
"""Django's command-line utility for MSP Portal."""

import os
import sys

HELP = {"-h", "--help"}


def asks_only_for_help(argv: list[str]) -> bool:
    """`manage.py help …` or `manage.py <command> --help`: argparse prints and exits."""
    args = argv[1 : argv.index("--")] if "--" in argv else argv[1:]
    return bool(args) and (args[0] == "help" or bool(HELP & set(args)))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msp_portal.settings")
    if asks_only_for_help(sys.argv) and not os.environ.get("SECRET_KEY"):
        # Help signs nothing, so it needs no SECRET_KEY: a newcomer can read a command's help
        # before configuring anything (settings refuse to load without one when DEBUG is off).
        os.environ["SECRET_KEY"] = "only-for-reading-help-" + "-" * 40
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
