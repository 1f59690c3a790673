"""The data set: deterministic for a seed and scale, loaded once, counted right."""

import hashlib
import pickle

from sqlalchemy import func, select

from bench_app.db import make_engine
from bench_app.models import Comment, Post, User
from bench_app.seed import generate_rows, seed
from bench_app.settings import Settings


def digest(settings: Settings) -> str:
    return hashlib.sha256(pickle.dumps(generate_rows(settings))).hexdigest()


def test_same_seed_and_scale_give_the_same_rows() -> None:
    small = Settings(scale=0.05, seed=7)
    assert digest(small) == digest(Settings(scale=0.05, seed=7))
    assert digest(small) != digest(Settings(scale=0.05, seed=8))


def test_scale_sets_the_size_and_posts_are_about_1_kb() -> None:
    rows = generate_rows(Settings(scale=0.1, seed=1))
    assert len(rows["users"]) == 100
    assert 500 <= len(rows["posts"]) <= 1500
    body_lengths = [len(post[3]) for post in rows["posts"]]
    assert 700 <= sum(body_lengths) / len(body_lengths) <= 1400


async def test_seeding_again_is_a_no_op_and_the_tables_hold_the_rows(seeded: Settings) -> None:
    engine = make_engine(seeded)
    try:
        again = await seed(engine, seeded, log=lambda message: None)
        assert not again.loaded
        async with engine.connect() as conn:
            for model, expected in (
                (User, again.users),
                (Post, again.posts),
                (Comment, again.comments),
            ):
                assert await conn.scalar(select(func.count()).select_from(model)) == expected
    finally:
        await engine.dispose()
    rows = generate_rows(seeded)
    assert (again.users, again.posts, again.comments) == tuple(
        len(rows[t]) for t in ("users", "posts", "comments")
    )
