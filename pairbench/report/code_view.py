"""The variants' code, side by side: the sources a run captured (pairbench.sources), highlighted;
or a pair's two requests (`pairbench ab`), in HTTP's own form."""

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import HttpLexer, PythonLexer

STYLE = "friendly"  # light background, readable in print; inline styles keep it self-contained


def highlighted(source: str, http: bool = False) -> Markup:
    """Python source (or an HTTP request) as HTML with inline colours (no stylesheet, no
    script)."""
    formatter = HtmlFormatter(noclasses=True, style=STYLE, nobackground=True)
    lexer: Lexer = HttpLexer() if http else PythonLexer()
    return Markup(highlight(source, lexer, formatter))
