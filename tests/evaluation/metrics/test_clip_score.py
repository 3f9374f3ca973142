
import numpy as np
import pytest
import torch

from curation.models.clip_scorer import ClipScorer, load_clip_scorer
from evaluation.metrics.clip_score import image_frame_similarity, text_frame_similarity, to_uint8
from tests.support.tiny_clip import save_tiny_clip


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory) -> ClipScorer:
    return load_clip_scorer(str(save_tiny_clip(tmp_path_factory.mktemp("clip") / "clip", seed=0)))


def _videos(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random((3, 32, 32, 3)).astype(np.float32) for _ in range(n)]


def test_image_frame_similarity_is_mean_cosine(scorer: ClipScorer) -> None:
    videos = _videos(2)
    images = [v[0] for v in videos]
    got = image_frame_similarity(scorer, images, videos)
    emb = [scorer.embed_images(list(to_uint8(v))) for v in videos]
    want = [float((e @ e[0]).mean()) for e in emb]  # frame 0 is the conditioning image
    assert got == pytest.approx(want, abs=1e-5)
    # a video of its own conditioning image repeated scores exactly 1
    still = np.repeat(images[0][None], 3, axis=0)
    assert image_frame_similarity(scorer, [images[0]], [still])[0] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="1 images but 2 videos"):
        image_frame_similarity(scorer, images[:1], videos)


def test_text_frame_similarity_skips_uncaptioned_samples(scorer: ClipScorer) -> None:
    videos = _videos(2, seed=1)
    got = text_frame_similarity(scorer, ["a red square", ""], videos)
    assert got[1] is None
    frames = scorer.embed_images(list(to_uint8(videos[0])))
    text = scorer.embed_texts(["a red square"])[0]
    assert got[0] == pytest.approx(float((frames @ text).mean()), abs=1e-5)
    assert -1.0 <= got[0] <= 1.0
    assert text_frame_similarity(scorer, ["", ""], videos) == [None, None]
    assert isinstance(text, torch.Tensor)
