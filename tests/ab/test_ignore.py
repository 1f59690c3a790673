"""Fields that differ by design: a key name anywhere, or a dotted path from the root."""

from pairbench.ab.ignore import DOTTED_PATH, KEY_NAME, describe, kind_of, without_fields

ANSWER = {
    "generated_at": "t1",
    "meta": {"generated_at": "t2", "page": 1},
    "items": [{"id": 1, "etag": "x"}, {"id": 2, "etag": "y", "generated_at": "t3"}],
}


def test_a_key_name_goes_at_any_depth() -> None:
    assert without_fields(ANSWER, ["generated_at"]) == {
        "meta": {"page": 1},
        "items": [{"id": 1, "etag": "x"}, {"id": 2, "etag": "y"}],
    }


def test_a_dotted_path_goes_only_where_it_points_and_through_lists() -> None:
    assert without_fields(ANSWER, ["meta.generated_at", "items.etag"]) == {
        "generated_at": "t1",
        "meta": {"page": 1},
        "items": [{"id": 1}, {"id": 2, "generated_at": "t3"}],
    }


def test_a_path_that_is_not_there_changes_nothing_and_the_original_is_kept() -> None:
    original = {"a": {"b": 1}, "c": [1, 2]}
    assert without_fields(original, ["a.x.y", "c.d", "zzz"]) == original
    without_fields(original, ["a.b"])
    assert original == {"a": {"b": 1}, "c": [1, 2]}


def test_each_field_says_how_it_was_read() -> None:
    assert kind_of("generated_at") == KEY_NAME
    assert kind_of("meta.generated_at") == DOTTED_PATH
    assert describe(["ts", "meta.ts"]) == "ts (key name), meta.ts (dotted path)"
