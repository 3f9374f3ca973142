"""Stage configs: the three recipe stages are three files of one StageConfig."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from training.config import CONFIG_DIR, STAGE_ORDER, StageConfig, load_stage_config


def test_three_stages_load_and_differ() -> None:
    s1, s2, s3 = (load_stage_config(n) for n in STAGE_ORDER)
    assert [s.name for s in (s1, s2, s3)] == list(STAGE_ORDER)
    assert (s1.kind, s1.num_frames) == ("image", 1)
    assert s2.kind == s3.kind == "video" and s2.num_frames > 1 and s3.num_frames > 1
    assert (s3.height, s3.width) != (s1.height, s1.width)
    assert s3.lr == pytest.approx(3e-5) and s3.lr < s2.lr
    assert (s1.p_mean, s1.p_std) == (-1.2, 1.0) == (s2.p_mean, s2.p_std)
    assert (s3.p_mean, s3.p_std) == (0.7, 1.6)
    # stage I trains spatial layers only; III keeps an EMA and the top clips
    assert s1.train_spatial and not s1.train_temporal
    assert s2.train_temporal and s3.train_temporal
    assert s3.ema_decay is not None and s1.ema_decay is None
    assert s3.select_top_fraction < 1.0 == s1.select_top_fraction
    # every stage holds out the same clips, so evaluation compares like with like
    assert s1.holdout_fraction == s2.holdout_fraction == s3.holdout_fraction
    for s in (s1, s2, s3):
        assert s.cond_dropout == pytest.approx(0.1)
        assert (s.noise_aug_mean, s.noise_aug_std) == (-3.0, 0.5)
        assert s.model_config_name == "tiny"


def test_overrides_apply_and_validate() -> None:
    cfg = load_stage_config("stage2_video", {"steps": 3, "ema_decay": None, "model_config": "tiny"})
    assert cfg.steps == 3 and cfg.ema_decay is None
    with pytest.raises(ValidationError, match="bogus"):
        load_stage_config("stage2_video", {"bogus": 1})
    with pytest.raises(ValidationError, match="num_frames must be 1"):
        load_stage_config("stage1_image", {"num_frames": 4})
    with pytest.raises(ValidationError, match="at least one"):
        load_stage_config("stage1_image", {"train_spatial": False})
    with pytest.raises(ValidationError):
        load_stage_config("stage3_finetune", {"select_top_fraction": 0.0})


def test_frozen() -> None:
    cfg = load_stage_config("stage1_image")
    with pytest.raises(ValidationError):
        cfg.steps = 5  # type: ignore[misc]


def test_load_by_path_round_trips(tmp_path: Path) -> None:
    cfg = load_stage_config("stage3_finetune", {"steps": 7})
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(cfg.to_yaml_dict()))
    again = load_stage_config(path)
    assert again == cfg and isinstance(again, StageConfig)


def test_unknown_stage_lists_known() -> None:
    with pytest.raises(FileNotFoundError, match="stage1_image"):
        load_stage_config("stage9")


def test_yaml_files_are_exactly_the_stages() -> None:
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) == sorted(STAGE_ORDER)


def test_ema_decay_defaults_to_the_recipe_when_a_profile_omits_it(tmp_path: Path) -> None:
    raw = yaml.safe_load((CONFIG_DIR / "stage3_finetune.yaml").read_text())
    raw.pop("ema_decay")
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load_stage_config(path).ema_decay == 0.9999  # SVD's decay
    assert load_stage_config("stage1_image").ema_decay is None  # pretraining profiles turn it off explicitly


def test_recipe_phases_are_first_class() -> None:
    s2, s3 = load_stage_config("stage2_video"), load_stage_config("stage3_finetune")
    assert [p.name for p in s2.phases] == ["lowres", "highres"]
    end = s2.phase_end(0)
    low, high = s2.at_step(end), s2.at_step(end + 1)
    assert (low.p_mean, high.p_mean) == (-1.2, 0.0)  # P_mean 0 at the higher resolution
    assert high.height * high.width > low.height * low.width and high.phases == ()
    assert s2.final() == high and s2.phase_index(s2.steps) == 1 and s2.phase_end(1) == s2.steps
    assert (s3.at_step(1).p_mean, s3.at_step(1).p_std) == (0.7, 1.6)
    assert (s3.final().p_mean, s3.final().p_std) == (1.0, 1.6)
    one = load_stage_config("stage1_image")
    assert one.at_step(3) is one and one.phase_end(0) == one.steps


def test_phase_lr_and_a_short_run_ends_in_its_phase() -> None:
    cfg = load_stage_config("stage2_video", {"steps": 3, "phases": [
        {"name": "a", "steps": 5, "lr": 1e-3}, {"name": "b", "lr": 1e-5}]})
    assert cfg.at_step(3).lr == 1e-3 and cfg.phase_end(0) == 3  # capped at the stage's steps
    with pytest.raises(ValidationError, match="every phase but the last"):
        load_stage_config("stage2_video", {"phases": [{"name": "a"}, {"name": "b"}]})
    with pytest.raises(ValidationError, match="unique"):
        load_stage_config("stage2_video", {"phases": [{"name": "a", "steps": 2}, {"name": "a"}]})


def test_result_fields_leave_out_bookkeeping_only() -> None:
    fields = load_stage_config("stage2_video").result_fields()
    for key in ("lr", "p_mean", "p_std", "batch_size", "height", "width", "phases", "seed", "cond_dropout"):
        assert key in fields
    for key in ("steps", "checkpoint_every", "keep_last", "log_every", "num_workers", "resume"):
        assert key not in fields
