"""The `corral` console script: no command (or only --repo) opens the TUI, anything else is
the headless CLI. Textual is imported only when the TUI really starts, so the CLI stays fast."""

from __future__ import annotations

import sys

from backend.errors import UsageError


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] == "--repo" and len(args) == 2):
        repo = args[1] if args else None
        try:
            from tui.app import run_app
        except ImportError as exc:  # the TUI arrives with its own issue
            print(
                f"corral: error: the TUI is not available yet ({exc}); see corral --help",
                file=sys.stderr,
            )
            return 1
        return int(run_app(repo=repo))
    if args[0] == "--repo":
        print(
            f"corral: error: {UsageError('--repo takes one path when opening the TUI; usage: corral [--repo PATH]')}",
            file=sys.stderr,
        )
        return 2
    # Imported here: the TUI path must not pay for the CLI's imports (docker, git) before its
    # first frame.
    from backend.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
