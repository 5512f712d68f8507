"""praw's own recordings of the real Reddit API (2016-2019), replayed to the real praw client.

They live in ``$CRYPTOSENSE_REAL_DATA/reddit/cassettes`` (BSD-2-Clause, from praw's test
suite) and are never copied into the project; every test here skips when they are absent.
Each test makes the calls praw's own test made, so the recorded requests match, and checks
that the project turns real Reddit data into documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collectors.assets import AssetTagger
from collectors.live.reddit import RedditCollector, documents_from_listing
from collectors.live.reddit_client import RedditClient, build_client
from core.records import SourceFamily
from core.settings import Settings
from tests.collectors.reddit_replay import RedditReplay, replay, replay_settings


@pytest.fixture
def cassettes(real_data: Path) -> Path:
    folder = real_data / "reddit" / "cassettes"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not there")
    return folder


def cassette(folder: Path, name: str) -> Path:
    path = folder / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    return path


@pytest.fixture
def tagger() -> AssetTagger:
    return AssetTagger()


def client_for(rr: RedditReplay, settings: Settings) -> RedditClient:
    s = replay_settings(rr, settings.data_dir)
    return build_client(s.reddit, s.http)


@pytest.fixture
def askreddit(cassettes: Path) -> Iterator[RedditReplay]:
    with replay(
        cassette(cassettes, "TestSubredditListings.test_hot"),
        cassette(cassettes, "TestSubredditListings.test_new"),
    ) as rr:
        yield rr


def test_collector_polls_recorded_hot_and_new_listings(
    askreddit: RedditReplay, settings: Settings
) -> None:
    s = replay_settings(askreddit, settings.data_dir, limit=100, comments_per_post=0)
    collector = RedditCollector(
        "askreddit",
        client=build_client(s.reddit, s.http),
        settings=s.reddit,
        tagger=AssetTagger(),
    )

    result = collector.collect({})

    assert askreddit.unmatched == []
    assert len(result.documents) >= 150  # 100 hot + 100 new, minus overlap and removed posts
    assert all(d.family is SourceFamily.REDDIT for d in result.documents)
    assert all(
        d.url and d.url.startswith("https://www.reddit.com/r/AskReddit/comments/")
        for d in result.documents
    )
    assert all(d.source_id and d.source_id.startswith("t3_") for d in result.documents)
    assert len({d.id for d in result.documents}) == len(result.documents)
    assert result.cursor is not None and len(result.cursor["listings"]["new"]["seen"]) == 100


def test_front_page_new_becomes_documents(
    cassettes: Path, settings: Settings, tagger: AssetTagger
) -> None:
    with replay(cassette(cassettes, "TestFront.test_new")) as rr:
        posts = list(client_for(rr, settings).reddit.front.new(limit=100))

    docs = documents_from_listing(posts, source="reddit:front", tagger=tagger)
    assert len(posts) == 100
    assert len(docs) >= 90
    assert all(d.title and d.published_at.year == 2016 for d in docs)
    assert all(isinstance(d.metadata["score"], int) for d in docs)
    assert rr.unmatched == []


def test_submission_and_its_top_level_comment(
    cassettes: Path, settings: Settings, tagger: AssetTagger
) -> None:
    with replay(cassette(cassettes, "TestSubmission.test_comments")) as rr:
        post = client_for(rr, settings).reddit.submission("2gmzqe")
        comments = list(post.comments)

    docs = documents_from_listing([post, *comments], source="reddit:redditdev", tagger=tagger)
    by_id = {d.source_id: d for d in docs}
    assert set(by_id) == {"t3_2gmzqe", "t1_cklfmye"}
    assert by_id["t3_2gmzqe"].title == "[PRAW] HTTPS enabled PRAW testing needed"
    assert by_id["t3_2gmzqe"].text.startswith("PRAW client developers,")
    assert by_id["t1_cklfmye"].metadata["parent_id"] == "t3_2gmzqe"
    assert "<" not in by_id["t3_2gmzqe"].text  # Reddit's HTML became text


def test_more_comments_expansion_matches_the_recorded_form_body(
    cassettes: Path, settings: Settings, tagger: AssetTagger
) -> None:
    from praw.models import MoreComments, Submission

    with replay(cassette(cassettes, "TestMore.test_comments")) as rr:
        reddit = client_for(rr, settings).reddit
        children = ["cu5tt8h", "cu5v9yd", "cu5twf5", "cu5tkk4", "cu5tead"]
        children += ["cu5rxpy", "cu5oufs", "cu5tpek", "cu5pbdh"]
        more = MoreComments(
            reddit,
            {
                "children": children,
                "count": 9,
                "id": "cu5tt8h",
                "name": "t1_cu5tt8h",
                "parent_id": "t3_3hahrw",
            },
        )
        more.submission = Submission(reddit, "3hahrw")
        comments = more.comments()

    docs = documents_from_listing(comments, source="reddit:test", tagger=tagger)
    assert rr.unmatched == []
    assert len(comments) == 7
    assert len(docs) == 7
    assert all(d.metadata["is_comment"] for d in docs)


def test_deleted_comment_is_skipped(
    cassettes: Path, settings: Settings, tagger: AssetTagger
) -> None:
    with replay(cassette(cassettes, "TestComment.test_refresh__deleted_comment")) as rr:
        [comment] = list(client_for(rr, settings).reddit.info(fullnames=["t1_d7ltvl0"]))

    assert vars(comment)["body"] == "[deleted]"
    assert documents_from_listing([comment], source="reddit:test", tagger=tagger) == []
