from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from curation.models.aesthetic import AestheticHead
from curation.models.clip_scorer import ClipScorer, ClipScores, load_clip_scorer
from tests.support.tiny_clip import MAX_TOKENS, save_tiny_clip, save_tiny_head, tiny_clip_model, tiny_head
from vidforge.settings import StoreSettings
from vidforge.store import LocalStore, S3Store


def _frames(seed: int, n: int = 3, size: tuple[int, int] = (48, 64)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(n)]


def _assert_close(got: list[ClipScores], want: list[ClipScores]) -> None:
    """Equal up to float32 rounding (a model built in memory and its reload may differ in the last bit)."""
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        for x, y in ((a.aesthetic, b.aesthetic), (a.similarity, b.similarity)):
            assert (x is None) == (y is None) and (x is None or x == pytest.approx(y, abs=1e-6))


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny-clip")
    return save_tiny_clip(root / "clip", seed=0), save_tiny_head(root / "head", seed=0)


@pytest.fixture(scope="module")
def scorer(dirs: tuple[Path, Path]) -> ClipScorer:
    return load_clip_scorer(str(dirs[0]), str(dirs[1]))


def _model_embeds(scorer: ClipScorer, images: list[np.ndarray], text: str) -> tuple[np.ndarray, np.ndarray]:
    """Normalised image/text embeddings from CLIPModel's own forward pass (not the scorer's path)."""
    pixels = scorer.image_processor(images=images, return_tensors="pt")["pixel_values"]
    enc = scorer.tokenizer([text], truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.inference_mode():
        out = scorer.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], pixel_values=pixels)
    return out.image_embeds.double().numpy(), out.text_embeds.double().numpy()[0]


def test_aesthetic_and_similarity_match_a_hand_computation(scorer: ClipScorer) -> None:
    images = _frames(1)
    image_emb, text_emb = _model_embeds(scorer, images, "a red car")
    [got] = scorer.score([images], ["a red car"])
    assert scorer.head is not None
    w, b = scorer.head.weight.detach().double().numpy()[0], float(scorer.head.bias.detach())
    assert got.aesthetic == pytest.approx(float(np.mean(image_emb @ w + b)), abs=1e-5)
    assert got.similarity == pytest.approx(float(np.mean(image_emb @ text_emb)), abs=1e-5)
    assert -1.0 <= got.similarity <= 1.0


def test_scores_are_deterministic_and_depend_on_the_input(scorer: ClipScorer, dirs: tuple[Path, Path]) -> None:
    clips, captions = [_frames(1), _frames(2), _frames(3)], ["the cat", "the cat", "an ant in the sand"]
    first = scorer.score(clips, captions)
    assert scorer.score(clips, captions) == first
    _assert_close(load_clip_scorer(str(dirs[0]), str(dirs[1])).score(clips, captions), first)
    assert len({s.aesthetic for s in first}) == 3  # different frames, different scores
    assert first[0].similarity != first[1].similarity != first[2].similarity
    one_by_one = [scorer.score([c], [t])[0] for c, t in zip(clips, captions, strict=True)]
    for a, b in zip(first, one_by_one, strict=True):  # batching does not change a clip's scores
        assert a.aesthetic == pytest.approx(b.aesthetic, abs=1e-5)
        assert a.similarity == pytest.approx(b.similarity, abs=1e-5)


def test_no_caption_no_similarity_and_no_head_no_aesthetic(scorer: ClipScorer, dirs: tuple[Path, Path]) -> None:
    [got] = scorer.score([_frames(4)], [""])
    assert got.similarity is None and got.aesthetic is not None
    [bare] = load_clip_scorer(str(dirs[0])).score([_frames(4)], ["the cat"])
    assert bare.aesthetic is None and bare.similarity is not None
    assert scorer.score([], []) == []


def test_long_captions_are_truncated_to_the_text_tower(scorer: ClipScorer) -> None:
    long = "the cat sat on the mat and then " * 10
    assert len(scorer.tokenizer(long)["input_ids"]) > MAX_TOKENS
    [got] = scorer.score([_frames(5)], [long])
    assert got.similarity is not None and np.isfinite(got.similarity)


def test_loaded_model_equals_the_saved_one(scorer: ClipScorer) -> None:
    saved = ClipScorer(tiny_clip_model(len(scorer.tokenizer), seed=0), scorer.tokenizer, scorer.image_processor,
                       tiny_head(seed=0))
    other_seed = ClipScorer(tiny_clip_model(len(scorer.tokenizer), seed=1), scorer.tokenizer, scorer.image_processor)
    images = _frames(6)
    torch.testing.assert_close(saved.embed_images(images), scorer.embed_images(images), rtol=0, atol=1e-6)
    torch.testing.assert_close(saved.embed_texts(["the cat"]), scorer.embed_texts(["the cat"]), rtol=0, atol=1e-6)
    _assert_close(saved.score([images], ["the cat"]), scorer.score([images], ["the cat"]))
    assert not torch.allclose(other_seed.embed_images(images), scorer.embed_images(images))


@pytest.mark.parametrize("where", ["path", "file_uri", "store_uri", "s3"])
def test_loads_from_a_path_or_uri(where: str, dirs: tuple[Path, Path], scorer: ClipScorer, tmp_path: Path,
                                  request: pytest.FixtureRequest) -> None:
    settings = None
    if where == "path":
        model, head = str(dirs[0]), str(dirs[1])
    elif where == "file_uri":
        model, head = dirs[0].as_uri(), dirs[1].as_uri()
    else:
        if where == "s3":
            endpoint = request.getfixturevalue("s3_endpoint")
            store = S3Store(f"s3://{request.getfixturevalue('s3_bucket')}/models", endpoint_url=endpoint)
            settings = StoreSettings(s3_endpoint_url=endpoint)
        else:
            store = LocalStore(tmp_path / "store")
        model, head = store.put_dir(dirs[0], "clip/v1"), store.put_dir(dirs[1], "aesthetic/v1")
    loaded = load_clip_scorer(model, head, settings=settings)
    _assert_close(loaded.score([_frames(7)], ["the cat"]), scorer.score([_frames(7)], ["the cat"]))


def test_bad_inputs_are_refused(scorer: ClipScorer, dirs: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_clip_scorer(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        (tmp_path / "empty dir").mkdir()
        (tmp_path / "empty dir" / "x.txt").write_text("x")
        load_clip_scorer(str(tmp_path / "empty dir"))
    AestheticHead(8).save_pretrained(tmp_path / "head8")
    with pytest.raises(ValueError, match="projection_dim"):
        load_clip_scorer(str(dirs[0]), str(tmp_path / "head8"))
    with pytest.raises(ValueError, match="captions"):
        scorer.score([_frames(1)], [])
    with pytest.raises(ValueError, match="at least one frame"):
        scorer.score([[]], ["x"])
