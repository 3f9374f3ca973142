from pathlib import Path

import numpy as np
import pytest

from evaluation.config import FeatureNetConfig, load_eval_config
from evaluation.evalset import EvalSetError, build_from_dataset, load_evalset, real_features, training_overlap
from evaluation.metrics.feature_net import load_feature_net
from evaluation.metrics.frechet import GaussianStats
from evaluation.run import check_overlap
from tests.support.tiny_dataset import DATASET, VERSION
from tests.support.tiny_feature_nets import TinyInception, save_net
from vidforge.settings import Settings
from vidforge.store import LocalStore

CFG = load_eval_config(overrides={"max_clips": 3})


def test_build_load_pin_and_cached_real_stats(settings: Settings, local_store: LocalStore, tmp_path: Path) -> None:
    net = load_feature_net(FeatureNetConfig(uri=str(save_net(TinyInception(), tmp_path / "inc.pt")),
                                            call_kwargs={"return_features": True}))
    built = build_from_dataset(settings, "eval/v1", f"{DATASET}/{VERSION}", CFG, {"fid": net, "fvd": None})
    assert built["ref"] == "eval/v1" and built["samples"] >= 1 and len(built["sha256"]) == 64
    es = load_evalset(local_store, "eval/v1", built["sha256"])
    assert [s.sample_id for s in es.samples] == [m["clip_id"] for m in es.info["samples"]]
    assert es.samples[0].frames.shape[1] == 3 and float(es.samples[0].frames.min()) >= -1.0
    assert es.info["source"]["dataset"] == f"{DATASET}/{VERSION}"
    stored = es.real_stats(local_store, "fid", net)  # computed once at build, for this network's sha256
    fresh = GaussianStats.of(real_features(es.samples, "fid", net))
    assert stored is not None and np.allclose(stored.mu, fresh.mu, atol=1e-5)
    assert es.info["stats"]["fid"]["sha256"] == net.sha256 and "fvd" not in es.info["stats"]
    with pytest.raises(EvalSetError, match="immutable"):
        build_from_dataset(settings, "eval/v1", f"{DATASET}/{VERSION}", CFG)
    with pytest.raises(EvalSetError, match="does not match the registered"):
        load_evalset(local_store, "eval/v1", "0" * 64)
    with pytest.raises(EvalSetError, match="not published"):
        load_evalset(local_store, "eval/v9")


def test_a_set_sharing_training_clips_is_refused(settings: Settings, local_store: LocalStore) -> None:
    build_from_dataset(settings, "eval/v1", f"{DATASET}/{VERSION}", CFG)
    es = load_evalset(local_store, "eval/v1")
    from training.config import load_stage_config
    from training.data import split_clips
    from vidforge.dataset import load_dataset

    fraction = load_stage_config(CFG.final_stage).holdout_fraction
    assert training_overlap(local_store, es, f"{DATASET}/{VERSION}", fraction)["clips"] == []
    assert check_overlap(local_store, es, {"candidate": f"{DATASET}/{VERSION}", "champion": ""}, CFG)
    trained = split_clips(load_dataset(local_store, DATASET, VERSION).kept, fraction)[0]["clip_id"].iloc[0]
    es.info["samples"].append({**es.info["samples"][0], "clip_id": trained, "sample_id": trained})
    assert training_overlap(local_store, es, f"{DATASET}/{VERSION}", fraction)["clips"] == [trained]
    with pytest.raises(EvalSetError, match="shares 1 clips with what the champion trained on"):
        check_overlap(local_store, es, {"champion": f"{DATASET}/{VERSION}"}, CFG)
