from types import SimpleNamespace

import pytest

from vidforge.orchestration import event_extras, pick, plan_curation, run_id_for, slug


def test_plan_curation_validates_and_defaults_the_version() -> None:
    plan = plan_curation({"sources": ["a.mp4", "s3://b/c.mp4"], "dataset": "demo"}, "manual__2026-11-27T10:00:00")
    assert plan == {"sources": ["a.mp4", "s3://b/c.mp4"], "dataset": "demo",
                    "version": "manual-2026-11-27t10-00-00", "profile": "", "overrides": {}}
    plan = plan_curation({"sources": ["a.mp4"], "dataset": "demo", "version": "v3", "profile": "p.yaml",
                          "overrides": {"pipeline.runner": "ray"}}, "r")
    assert (plan["version"], plan["profile"], plan["overrides"]) == ("v3", "p.yaml", {"pipeline.runner": "ray"})


@pytest.mark.parametrize(("params", "message"), [
    ({"dataset": "demo"}, "no sources"),
    ({"sources": ["a.mp4"], "dataset": "Not A Slug"}, "slug"),
    ({"sources": ["a.mp4"], "dataset": "demo", "overrides": ["pipeline.runner=ray"]}, "overrides must be an object"),
])
def test_plan_curation_rejects_bad_params(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_curation(params, "r")


def test_params_win_over_asset_events_and_the_newest_event_is_used() -> None:
    events = {"vidforge://datasets": [SimpleNamespace(extra={"dataset": "d", "version": "v1"}),
                                      SimpleNamespace(extra={"dataset": "d", "version": "v2"})]}
    extras = event_extras(events)
    assert pick({}, extras, "dataset", "version") == {"dataset": "d", "version": "v2"}
    assert pick({"dataset": "x", "version": "v9"}, extras, "dataset", "version") == {"dataset": "x", "version": "v9"}
    with pytest.raises(ValueError, match="missing version"):
        pick({"dataset": "x"}, [], "dataset", "version")
    assert run_id_for({}, "scheduled__X") == slug("scheduled__X") == "scheduled-x"
