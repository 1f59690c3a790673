"""The schema every technique reads: users, their posts, and comments on the posts."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bench_app.settings import get_settings

# Ids are BIGINT: a larger number names no row, and the driver could not even send it,
# so a parameter that is an id declares this bound.
MAX_ID = 2**63 - 1


class Base(AsyncAttrs, DeclarativeBase):
    """Declarative base; AsyncAttrs gives `obj.awaitable_attrs.rel`, async's lazy load."""

    metadata = MetaData(schema=get_settings().db_schema)


def quoted_name(table: Table) -> str:
    """A table's name in SQL text, quoted and with its schema: "pairbench"."posts"."""
    return f'"{table.schema}"."{table.name}"'


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_hash: Mapped[str] = mapped_column(String(100))
    bio: Mapped[str] = mapped_column(Text)

    posts: Mapped[list["Post"]] = relationship(back_populates="author", order_by="Post.id")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    author: Mapped[User] = relationship(back_populates="posts")
    comments: Mapped[list["Comment"]] = relationship(back_populates="post", order_by="Comment.id")

    # Foreign keys get no index of their own in PostgreSQL; every "posts of an author"
    # lookup, naive or not, needs this one.
    __table_args__ = (Index("posts_author_id_idx", "author_id"),)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    post: Mapped[Post] = relationship(back_populates="comments")

    __table_args__ = (Index("comments_post_id_idx", "post_id"),)


class SeedInfo(Base):
    """One row saying which data set is loaded, so re-seeding the same one is a no-op."""

    __tablename__ = "seed_info"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    users: Mapped[int]
    posts: Mapped[int]
    comments: Mapped[int]
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
