"""Where a stage's progress lines go: `print` on the command line, a list in a test."""

from collections.abc import Callable

Log = Callable[[str], None]  # takes one line of progress, without its newline
