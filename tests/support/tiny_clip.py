"""Tiny random-init CLIP artefacts for tests, saved in the layout of a real CLIP directory.

:func:`save_tiny_clip` writes what ``openai/clip-vit-large-patch14`` ships (``config.json`` +
``model.safetensors``, ``tokenizer.json`` + ``tokenizer_config.json``, ``preprocessor_config.json``)
for a 2-layer CLIP with 32 px images and 16-dim embeddings; the tokenizer is a byte-level BPE built
here from the byte alphabet and a handful of merges. :func:`save_tiny_head` writes a seeded
aesthetic head for it. Everything is seeded: the same seed gives the same weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from curation.models.aesthetic import AestheticHead

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
#: Token positions of the tiny text tower (captions are truncated to this, BOS and EOS included).
MAX_TOKENS = 16
#: Side of the square image the tiny vision tower reads (px).
IMAGE_SIZE = 32
#: Dimension of the joint image/text embedding.
EMBED_DIM = 16
_MERGES = [("t", "h"), ("th", "e"), ("a", "n"), ("i", "n"), ("Ġ", "a")]


def tiny_tokenizer() -> object:
    """A CLIP-like byte-level BPE tokenizer: ``BOS`` = 0, ``EOS`` = 1 (also padding), then the byte
    alphabet, then one token per merge; lowercases; ``<BOS> text <EOS>`` per sequence."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {BOS: 0, EOS: 1}
    for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
    for a, b in _MERGES:
        vocab[a + b] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=_MERGES, unk_token=EOS))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A {EOS}", special_tokens=[(BOS, 0), (EOS, 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=EOS, unk_token=EOS,
                                   model_max_length=MAX_TOKENS)


def tiny_clip_model(vocab_size: int, seed: int = 0) -> torch.nn.Module:
    """A seeded random-init 2-layer ``CLIPModel`` (hidden 32, 8 px patches of 32 px images), in eval mode."""
    from transformers import CLIPConfig, CLIPModel

    tower = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(
        text_config={**tower, "vocab_size": vocab_size, "max_position_embeddings": MAX_TOKENS,
                     "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1},
        vision_config={**tower, "image_size": IMAGE_SIZE, "patch_size": 8},
        projection_dim=EMBED_DIM,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(config)
    return model.eval()


def preprocessor_config() -> dict[str, object]:
    """CLIP's ``preprocessor_config.json`` (bicubic resize of the short side, centre crop, CLIP mean/std) at 32 px."""
    return {
        "image_processor_type": "CLIPImageProcessor", "do_convert_rgb": True,
        "do_resize": True, "size": {"shortest_edge": IMAGE_SIZE}, "resample": 3,
        "do_center_crop": True, "crop_size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    }


def save_tiny_clip(directory: str | Path, seed: int = 0) -> Path:
    """Write a tiny CLIP directory (model, tokenizer, image processor); return it."""
    directory = Path(directory)
    tokenizer = tiny_tokenizer()
    tokenizer.save_pretrained(directory)  # type: ignore[attr-defined]
    tiny_clip_model(len(tokenizer), seed).save_pretrained(directory)  # type: ignore[arg-type, operator]
    (directory / "preprocessor_config.json").write_text(json.dumps(preprocessor_config(), indent=2))
    return directory


def tiny_head(seed: int = 0) -> AestheticHead:
    """A seeded aesthetic head for the tiny CLIP's embeddings (weights ~ N(0, 1), bias 5)."""
    head = AestheticHead(EMBED_DIM)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=gen))
        head.bias.fill_(5.0)
    return head


def save_tiny_head(directory: str | Path, seed: int = 0) -> Path:
    """Write :func:`tiny_head` to ``directory``; return it."""
    return tiny_head(seed).save_pretrained(directory)
