"""The variants' code, side by side: the sources a run captured (pairbench.sources), highlighted."""

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

STYLE = "friendly"  # light background, readable in print; inline styles keep it self-contained


def highlighted(source: str) -> Markup:
    """Python source as HTML with inline colours (no stylesheet, no script)."""
    formatter = HtmlFormatter(noclasses=True, style=STYLE, nobackground=True)
    return Markup(highlight(source, PythonLexer(), formatter))
