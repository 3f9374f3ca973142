"""Tiny random-init caption models for tests, saved in the layout of real checkpoints.

Each ``save_tiny_*`` writes what a hub checkpoint of that family ships (``config.json``,
``generation_config.json``, ``model.safetensors``, ``tokenizer.json`` + ``tokenizer_config.json``
and, for the vision models, ``preprocessor_config.json``) for a 1-layer model with 16-dim hidden
states and 32 px images, and returns the in-memory model (eval mode) so tests can compare it with
what a loader rebuilds. Weights are seeded and drawn with a wide ``initializer_range`` so that
different inputs give different captions. Tokenizers are word-level, built here with the
``tokenizers`` library from the words of the synthetic captions (:mod:`curation.synthetic`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

#: Side of the square image the tiny vision towers read (px).
IMAGE_SIZE = 32
#: Frames the tiny GIT video captioner takes (``num_image_with_embedding``).
VIDEO_FRAMES = 4
WORDS = (
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta", "pink", "blobs", "and", "shapes",
    "with", "the", "text", "a", "static", "shot", "slow", "steady", "fast", "pan", "at", "px", "frame", "fading",
    "in", "out", "sale", "hello", "image", "video", "summarize", ":", ",", ".", "/", "'", "%",
)
_INIT = 0.5
_TOWER: dict[str, Any] = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                          "num_attention_heads": 2, "initializer_range": _INIT}
_VISION: dict[str, Any] = {**_TOWER, "image_size": IMAGE_SIZE, "patch_size": 8}
#: BERT-style special tokens of the vision models' tokenizer: pad 0, unk 1, cls (bos) 2, sep (eos) 3.
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
#: T5-style special tokens of the summariser's tokenizer: pad 0 (decoder start), eos 1, unk 2.
T5_SPECIALS = ("<pad>", "</s>", "<unk>")


def _word_level(specials: tuple[str, ...], unk: str, template: str) -> Any:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {token: i for i, token in enumerate((*specials, *WORDS))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    names = [t for t in template.split() if t in vocab]
    tok.post_processor = processors.TemplateProcessing(single=template, special_tokens=[(t, vocab[t]) for t in names])
    return tok


def bert_tokenizer() -> Any:
    """A word-level ``BertTokenizer`` (the tokenizer class of BLIP and GIT): ``[CLS] text [SEP]``."""
    from transformers import BertTokenizer

    tok = _word_level(BERT_SPECIALS, "[UNK]", "[CLS] $A [SEP]")
    return BertTokenizer(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                         sep_token="[SEP]", mask_token="[MASK]")


def t5_tokenizer() -> Any:
    """A word-level fast tokenizer with T5's special-token layout: ``text </s>``."""
    from transformers import PreTrainedTokenizerFast

    tok = _word_level(T5_SPECIALS, "<unk>", "$A </s>")
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def _seeded(build: Any, seed: int) -> Any:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build().eval()


def _text_ids() -> dict[str, int]:
    return {"vocab_size": len(BERT_SPECIALS) + len(WORDS), "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3}


def save_tiny_blip(directory: str | Path, seed: int = 0) -> Any:
    """Write a tiny ``BlipForConditionalGeneration`` checkpoint (image captioner); return the model."""
    from transformers import BlipConfig, BlipForConditionalGeneration
    from transformers.models.blip import BlipImageProcessorPil

    config = BlipConfig(text_config={**_TOWER, **_text_ids(), "sep_token_id": 3, "max_position_embeddings": 64},
                        vision_config=_VISION, projection_dim=16, initializer_range=_INIT)
    model = _seeded(lambda: BlipForConditionalGeneration(config), seed)
    model.save_pretrained(directory)
    BlipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(directory)
    bert_tokenizer().save_pretrained(directory)
    return model


def save_tiny_git(directory: str | Path, num_frames: int | None = VIDEO_FRAMES, seed: int = 0) -> Any:
    """Write a tiny ``GitForCausalLM`` checkpoint; return the model.

    Args:
        num_frames: ``num_image_with_embedding`` (frames of a video captioner such as
            ``git-base-vatex``); None gives a single-image captioner (``git-base-coco``).
    """
    from transformers import GitConfig, GitForCausalLM
    from transformers.models.clip import CLIPImageProcessorPil

    config = GitConfig(vision_config=_VISION, **_TOWER, **_text_ids(), max_position_embeddings=64,
                       num_image_with_embedding=num_frames)

    def build() -> Any:
        model = GitForCausalLM(config)
        if num_frames is not None:  # zero-initialised in transformers; trained checkpoints are not
            with torch.no_grad():
                for emb in model.git.img_temporal_embedding:
                    emb.normal_()
        return model

    model = _seeded(build, seed)
    model.save_pretrained(directory)
    CLIPImageProcessorPil(size={"shortest_edge": IMAGE_SIZE},
                          crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(directory)
    bert_tokenizer().save_pretrained(directory)
    return model


def save_tiny_vit_bert(directory: str | Path, seed: int = 0) -> Any:
    """Write a tiny ``VisionEncoderDecoderModel`` (ViT encoder, BERT decoder; the ViT-GPT2 layout); return it.

    It has no processor class, so a loader must combine the image processor and tokenizer itself.
    """
    from transformers import BertConfig, VisionEncoderDecoderConfig, VisionEncoderDecoderModel, ViTConfig
    from transformers.models.vit import ViTImageProcessorPil

    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        ViTConfig(**_VISION), BertConfig(**_TOWER, **_text_ids(), max_position_embeddings=64))
    config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 2, 0, 3
    model = _seeded(lambda: VisionEncoderDecoderModel(config), seed)
    gen = model.generation_config
    gen.decoder_start_token_id, gen.pad_token_id, gen.eos_token_id = 2, 0, 3
    model.save_pretrained(directory)
    ViTImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(directory)
    bert_tokenizer().save_pretrained(directory)
    return model


def _seq2seq_ids() -> dict[str, int]:
    return {"vocab_size": len(T5_SPECIALS) + len(WORDS), "pad_token_id": 0, "eos_token_id": 1,
            "decoder_start_token_id": 0}


def save_tiny_t5(directory: str | Path, seed: int = 0) -> Any:
    """Write a tiny ``T5ForConditionalGeneration`` checkpoint (summariser); return the model."""
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(d_model=16, d_kv=8, d_ff=32, num_layers=1, num_decoder_layers=1, num_heads=2,
                      initializer_factor=_INIT * 10, **_seq2seq_ids())  # T5 scales its own init by this
    model = _seeded(lambda: T5ForConditionalGeneration(config), seed)
    model.save_pretrained(directory)
    t5_tokenizer().save_pretrained(directory)
    return model


def save_tiny_bart(directory: str | Path, seed: int = 0) -> Any:
    """Write a tiny ``BartForConditionalGeneration`` checkpoint (summariser); return the model."""
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
                        init_std=_INIT, bos_token_id=0, forced_eos_token_id=1, **_seq2seq_ids())
    model = _seeded(lambda: BartForConditionalGeneration(config), seed)
    model.save_pretrained(directory)
    t5_tokenizer().save_pretrained(directory)
    return model
