from typer.testing import CliRunner

from tests.support.tiny_dataset import DATASET, VERSION
from vidforge.cli import app
from vidforge.settings import Settings
from vidforge.store import LocalStore


def test_evalset_command_publishes_a_set(settings: Settings, local_store: LocalStore) -> None:
    result = CliRunner().invoke(app, ["evalset", "eval/v1", f"{DATASET}/{VERSION}"])
    assert result.exit_code == 0, result.output
    assert "evaluation set eval/v1" in result.output and "sha256" in result.output
    assert local_store.exists("evalsets/eval/v1/evalset.json")
    again = CliRunner().invoke(app, ["evalset", "eval/v1", f"{DATASET}/{VERSION}"])
    assert again.exit_code != 0 and "immutable" in str(again.exception)
