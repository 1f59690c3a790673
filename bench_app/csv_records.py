"""CSV records with their line numbers, from a whole text or from a stream of byte chunks.

Both readers split lines the same way (str.splitlines, cut only after a "\\n", so a chunk
boundary never splits a line break) and parse them with the same strict csv reader, so an
upload read whole and one read as a stream yield the same records and the same errors.
One record per line: a quoted field may hold commas and quotes, never a line break.
"""

import codecs
import csv
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator


class CsvLineError(ValueError):
    """A line of the upload that cannot be stored; the message names the line."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


def records(lines: Iterable[str], first_line: int = 1) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each line; a quoted field left open is a CsvLineError."""
    reader = csv.reader(lines, strict=True)
    line = first_line
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # A quote left open makes the reader go on into the next line (or, given lines
            # in batches, meet the batch's end): the same mistake either way, named alike.
            ran_on = reader.line_num > line - first_line + 1
            if ran_on or "unexpected end of data" in str(error):
                raise CsvLineError(line, RUNS_PAST_LINE) from None
            raise CsvLineError(line, f"malformed CSV ({error})") from None
        if reader.line_num != line - first_line + 1:
            raise CsvLineError(line, RUNS_PAST_LINE)
        yield line, fields
        line += 1


RUNS_PAST_LINE = "a quoted field runs past the end of the line"


def text_lines(text: str) -> list[str]:
    """The lines of `text`, each with its line break."""
    return text.splitlines(keepends=True)


def decode(body: bytes) -> str:
    """A whole upload as text; invalid UTF-8 is a CsvLineError naming its line."""
    try:
        return body.decode()
    except UnicodeDecodeError as error:
        raise CsvLineError(body.count(b"\n", 0, error.start) + 1, "not valid UTF-8") from None


async def streamed_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[str]]:
    """The complete lines of a UTF-8 stream, a batch per chunk: only a chunk and the line it
    ends inside are held at once."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""  # text after the last line break seen
    line_breaks = 0  # in the bytes decoded so far, to name the line of a decoding error
    async for chunk in chunks:
        buffered = len(decoder.getstate()[0])  # bytes of a character the last chunk cut
        try:
            text = pending + decoder.decode(chunk)
        except UnicodeDecodeError as error:
            before = chunk[: max(0, error.start - buffered)]
            raise CsvLineError(line_breaks + before.count(b"\n") + 1, "not valid UTF-8") from None
        line_breaks += chunk.count(b"\n")
        cut = text.rfind("\n") + 1
        pending = text[cut:]
        if cut:
            yield text_lines(text[:cut])
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise CsvLineError(line_breaks + 1, "not valid UTF-8") from None
    if pending:
        yield text_lines(pending)
