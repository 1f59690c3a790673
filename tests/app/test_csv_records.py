"""CSV records: read whole or as a stream of chunks, the same records and the same errors."""

from collections.abc import AsyncIterator

import pytest

from bench_app.csv_records import (
    RUNS_PAST_LINE,
    CsvLineError,
    decode,
    records,
    streamed_lines,
    text_lines,
)

TEXT = 'id,name,note\r\n1,"Umbrella, Ltd.","say ""hi"""\r\n2,Zoë,\r\n\r\n3,"x",ünïcode ✓\n4,last,'


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def streamed_records(data: bytes, size: int) -> list[tuple[int, list[str]]]:
    found, line = [], 1
    async for lines in streamed_lines(chunked(data, size)):
        found += list(records(lines, line))
        line += len(lines)
    return found


def test_whole_text_records_carry_their_line_numbers() -> None:
    assert list(records(text_lines(TEXT))) == [
        (1, ["id", "name", "note"]),
        (2, ["1", "Umbrella, Ltd.", 'say "hi"']),
        (3, ["2", "Zoë", ""]),
        (4, []),
        (5, ["3", "x", "ünïcode ✓"]),
        (6, ["4", "last", ""]),
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
async def test_any_chunking_gives_the_whole_texts_records(size: int) -> None:
    data = TEXT.encode()
    assert await streamed_records(data, size) == list(records(text_lines(TEXT)))


@pytest.mark.parametrize("size", [1, 5, 64])
async def test_a_quoted_field_that_runs_on_is_an_error_at_its_line_either_way(size: int) -> None:
    text = 'a,b\n1,"open\n2,"closed"\n3,x\n'
    with pytest.raises(CsvLineError) as whole:
        list(records(text_lines(text)))
    with pytest.raises(CsvLineError) as streamed:
        await streamed_records(text.encode(), size)
    assert whole.value.line == streamed.value.line == 2
    assert whole.value.problem == streamed.value.problem == RUNS_PAST_LINE


def test_malformed_quoting_names_its_line() -> None:
    with pytest.raises(CsvLineError, match=r"^line 3: malformed CSV"):
        list(records(text_lines('a\n"ok"\n"bad"x\n')))


@pytest.mark.parametrize("size", [1, 4, 100])
async def test_invalid_utf8_names_its_line_whole_or_streamed(size: int) -> None:
    data = "a,b\n1,ü\n2,".encode() + b"\xff" + b"\n3,c\n"
    with pytest.raises(CsvLineError) as whole:
        decode(data)
    with pytest.raises(CsvLineError) as streamed:
        await streamed_records(data, size)
    assert whole.value.line == streamed.value.line == 3


async def test_a_character_cut_at_the_end_of_the_stream_is_invalid() -> None:
    with pytest.raises(CsvLineError, match="line 2: not valid UTF-8"):
        await streamed_records("a\nü".encode()[:-1], 2)
