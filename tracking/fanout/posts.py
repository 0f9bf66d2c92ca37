"""Athletes' mid-race posts: stored, shown live, hidden by an organizer when needed."""

from __future__ import annotations

import secrets
from typing import Protocol

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db.models import QuerySet

from pace.lib.jsonfast import dumps
from tracking.live.groups import race_group
from tracking.live.livestore import live_store
from tracking.models import Post

MAX_LENGTH = 280


class Author(Protocol):
    """Who posts: the ingest's ``Athlete`` (its tracker's registration). Named by what
    is read of it, so that the fan-out needs nothing of the ingest."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def race_id(self) -> int: ...


def post_frame(post: Post, name: str) -> str:
    """The spectators' ``post`` frame."""
    return dumps(
        {
            "type": "post",
            "id": post.pk,  # race control hides a post by it
            "athlete": post.registration_id,
            "name": name,
            "text": post.text,
            "t": round(post.created_at.timestamp(), 3),
        }
    )


async def post_create(*, athlete: Author, text: str) -> Post:
    """Store a post, keep it for new spectators' snapshots and show it to the race now."""
    post: Post = await database_sync_to_async(Post.objects.create)(
        race_id=athlete.race_id, registration_id=athlete.id, text=text.strip()[:MAX_LENGTH]
    )
    frame = post_frame(post, athlete.name)
    await live_store().add_post(athlete.race_id, frame)
    await get_channel_layer().group_send(
        race_group(athlete.race_id), {"type": "race.post", "post": frame}
    )
    return post


def post_hidden_frame(post_id: int) -> str:
    """The spectators' ``post_hidden`` frame (a protocol addition): the page removes it."""
    return dumps({"type": "post_hidden", "id": post_id})


def posts_version_key(race_id: int) -> str:
    """A cache key whose value changes whenever some of the race's posts are hidden or
    shown again: what caches the race's posts (the athlete panel) keys on its value."""
    return f"live-posts-version:{race_id}"


def posts_set_hidden(*, posts: QuerySet[Post], hidden: bool) -> int:
    """Hide or show posts; new snapshots (every process's hub) show only the visible ones,
    and spectators watching now are told to remove a hidden one from their screens."""
    chosen = list(posts.values_list("pk", "race_id"))  # before the update: a filter on
    count = posts.update(hidden=hidden)  # ``hidden`` would match nothing after it
    for race_id in {race for _pk, race in chosen}:
        cache.set(posts_version_key(race_id), secrets.token_hex(4), timeout=None)
        visible = (
            Post.objects.filter(race_id=race_id, hidden=False)
            .select_related("registration")
            .order_by("-created_at")[:20]
        )
        frames = [post_frame(p, p.registration.name) for p in visible]
        async_to_sync(live_store().set_posts)(race_id, frames)
        message = {"type": "race.posts", "posts": frames}
        async_to_sync(get_channel_layer().group_send)(race_group(race_id), message)
        if hidden:
            gone = [post_hidden_frame(pk) for pk, race in chosen if race == race_id]
            message = {"type": "race.post_hidden", "frames": gone}
            async_to_sync(get_channel_layer().group_send)(race_group(race_id), message)
    return count
