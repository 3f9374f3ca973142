from pathlib import Path

import pytest
import torch

from evaluation.config import FeatureNetConfig
from evaluation.metrics.feature_net import FeatureNetError, load_feature_net
from tests.support.tiny_feature_nets import TinyI3D, save_net
from vidforge.digest import sha256_file
from vidforge.settings import StoreSettings
from vidforge.store import S3Store

ARCH = "tests.support.tiny_feature_nets:TinyI3D"
KW = {"rescale": False, "resize": False, "return_features": True}


def _x() -> torch.Tensor:
    return torch.rand(3, 3, 4, 16, 16, generator=torch.Generator().manual_seed(0))


def test_unconfigured_network_is_none() -> None:
    assert load_feature_net(FeatureNetConfig()) is None


@pytest.mark.parametrize("fmt", ["torchscript", "state_dict"])
def test_saved_network_reloads_with_the_same_outputs(tmp_path: Path, fmt: str) -> None:
    net = TinyI3D(seed=1).eval()
    path = save_net(net, tmp_path / "i3d.pt", fmt)
    cfg = FeatureNetConfig(uri=str(path), format=fmt, arch=ARCH if fmt == "state_dict" else "",
                           arch_kwargs={"seed": 7}, call_kwargs=KW, batch_size=2)
    loaded = load_feature_net(cfg)
    assert loaded is not None and loaded.sha256 == sha256_file(path)
    with torch.no_grad():
        want = net(_x(), **KW)
    got = loaded.features(_x())  # two batches of 2 and 1
    assert got.shape == (3, 16) and torch.allclose(got, want, atol=1e-6)
    assert loaded.describe() == {"uri": str(path), "sha256": sha256_file(path)}


def test_digest_architecture_and_shape_are_checked(tmp_path: Path) -> None:
    path = save_net(TinyI3D(), tmp_path / "i3d.pt", "state_dict")
    with pytest.raises(FeatureNetError, match="does not match the configured"):
        load_feature_net(FeatureNetConfig(uri=str(path), format="state_dict", arch=ARCH, sha256="0" * 64))
    with pytest.raises(FeatureNetError, match="needs 'arch'"):
        load_feature_net(FeatureNetConfig(uri=str(path), format="state_dict"))
    with pytest.raises(FeatureNetError, match="cannot be imported"):
        load_feature_net(FeatureNetConfig(uri=str(path), format="state_dict", arch="nowhere:Net"))
    wrong = "tests.support.tiny_feature_nets:TinyInception"
    with pytest.raises(FeatureNetError, match="does not fit"):
        load_feature_net(FeatureNetConfig(uri=str(path), format="state_dict", arch=wrong))
    with pytest.raises(FileNotFoundError):
        load_feature_net(FeatureNetConfig(uri=str(tmp_path / "missing.pt")))


def test_network_from_object_store_uri(tmp_path: Path, s3_endpoint: str, s3_bucket: str) -> None:
    store = S3Store(f"s3://{s3_bucket}", endpoint_url=s3_endpoint)
    uri = store.put_file(save_net(TinyI3D(), tmp_path / "i3d.pt"), "models/i3d.pt")
    settings = StoreSettings(s3_endpoint_url=s3_endpoint)
    loaded = load_feature_net(FeatureNetConfig(uri=uri, call_kwargs=KW), settings=settings)
    assert loaded is not None and loaded.features(_x()).shape == (3, 16)
