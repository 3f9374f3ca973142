"""Build a randomly initialised SVD-architecture pipeline from a ModelConfig."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline

    from training.model.config import ModelConfig

#: Number of micro-conditioning values in ``added_time_ids``: fps−1, motion bucket, noise aug.
N_TIME_IDS = 3


def edm_scheduler() -> EulerDiscreteScheduler:
    """The EDM Euler sampler SVD ships with (σ 700 → 0.002, Karras spacing, v-prediction).

    With ``prediction_type="v_prediction"`` and continuous timesteps
    (``c_noise = 0.25·ln σ``) the scheduler inverts exactly the EDM
    preconditioning the trainer uses (σ_data = 1).
    """
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type="v_prediction",
        interpolation_type="linear",
        use_karras_sigmas=True,
        sigma_min=0.002,
        sigma_max=700.0,
        timestep_spacing="leading",
        timestep_type="continuous",
        steps_offset=1,
    )


def build_pipeline(config: ModelConfig, seed: int = 0) -> StableVideoDiffusionPipeline:
    """A fresh pipeline (random weights, seeded) with the sizes in ``config``."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    u, v, e = config.unet, config.vae, config.image_encoder
    unet = UNetSpatioTemporalConditionModel(
        in_channels=2 * v.latent_channels,
        out_channels=v.latent_channels,
        down_block_types=u.down_block_types,
        up_block_types=u.up_block_types,
        block_out_channels=u.block_out_channels,
        layers_per_block=u.layers_per_block,
        num_attention_heads=u.num_attention_heads,
        cross_attention_dim=e.projection_dim,
        addition_time_embed_dim=u.addition_time_embed_dim,
        projection_class_embeddings_input_dim=N_TIME_IDS * u.addition_time_embed_dim,
    )
    vae = AutoencoderKLTemporalDecoder(
        down_block_types=("DownEncoderBlock2D",) * len(v.block_out_channels),
        block_out_channels=v.block_out_channels,
        layers_per_block=v.layers_per_block,
        latent_channels=v.latent_channels,
    )
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=e.hidden_size,
            intermediate_size=e.intermediate_size,
            projection_dim=e.projection_dim,
            num_hidden_layers=e.num_hidden_layers,
            num_attention_heads=e.num_attention_heads,
            image_size=e.image_size,
            patch_size=e.patch_size,
        )
    )
    extractor = CLIPImageProcessor(
        crop_size={"height": e.image_size, "width": e.image_size},
        size={"shortest_edge": e.image_size},
    )
    return StableVideoDiffusionPipeline(
        vae=vae, image_encoder=encoder, unet=unet, scheduler=edm_scheduler(), feature_extractor=extractor
    )
