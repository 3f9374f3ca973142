from __future__ import annotations

from typing import ClassVar

import pytest

from curation.items import Item, SourceItem
from curation.stages.base import Resources, Stage


def _make(**attrs: object) -> type[Stage]:
    base: dict[str, object] = {
        "name": "ok", "requires": frozenset({"source_path"}), "populates": frozenset({"fps"}),
        "resources": Resources(), "consumes": SourceItem, "process": lambda self, batch: batch,
    }
    base.update(attrs)
    return type("S", (Stage,), {k: v for k, v in base.items() if v is not None})


def test_a_complete_stage_is_accepted() -> None:
    stage = _make()()
    items: list[Item] = [SourceItem(source_id="a", source_uri="u", source_path="p")]
    assert stage.process(items) == items
    assert "ok (source)" in stage.describe()


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"name": None}, "'name'"),
        ({"resources": None}, "'resources'"),
        ({"name": "Bad Name"}, "snake_case"),
        ({"requires": {"source_path"}}, "frozenset"),
        ({"populates": frozenset({"no_such_field"})}, "unknown fields"),
        ({"resources": {"cpus": 1}}, "Resources"),
        ({"consumes": dict}, "Item subclass"),
        ({"process": None}, "process"),
    ],
)
def test_init_subclass_enforces_the_contract(attrs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        _make(**attrs)


def test_abstract_bases_are_exempt() -> None:
    class Shared(Stage, abstract=True):
        resources: ClassVar[Resources] = Resources(cpus=2)

    class Concrete(Shared):
        name: ClassVar[str] = "concrete"
        requires: ClassVar[frozenset[str]] = frozenset()
        populates: ClassVar[frozenset[str]] = frozenset()
        consumes: ClassVar[type[Item]] = SourceItem

        def process(self, batch: list[Item]) -> list[Item]:
            return batch

    assert Concrete.resources.cpus == 2
