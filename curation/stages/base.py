"""The stage contract (style rules 5–7).

A stage is one class in one module of ``curation/stages/``. It declares, as
class attributes, its ``name``, the item fields it ``requires`` and
``populates``, the ``resources`` one worker needs, and which item type it
``consumes``. ``__init__`` stores configuration only; ``setup()`` loads models
once per worker; ``process(batch)`` maps a batch of kept items to items.

Errors belong to the item: a stage may mark an item itself (``item.quarantine``,
``item.filter_out``), or raise — the runner then isolates the failing item and
quarantines it with ``reason="<stage>:<code>"`` (``code`` from :class:`ItemError`,
else the exception type in snake case). A stage never imports Ray.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from curation.items import ALL_FIELDS, Item

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ItemError(Exception):
    """A permanent, item-level failure with a short stable ``code`` (``decode_failed``)."""

    def __init__(self, code: str, message: str) -> None:
        if not _NAME.match(code):
            raise ValueError(f"error code must be snake_case, got {code!r}")
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs (used by a Ray runner to size actors)."""

    cpus: float = 1.0
    gpus: float = 0.0


class Stage:
    """Base class of every curation stage. Subclasses must set the class attributes below.

    Attributes:
        name: snake_case stage name; prefixes quarantine reasons.
        requires: item fields the stage reads (checked before the pipeline runs).
        populates: item fields the stage writes.
        resources: per-worker resources.
        consumes: the item type the stage processes; other items pass it by.
        fans_out: whether ``process`` may return new child items (``parent_id`` set
            to one of its inputs) in addition to every input it received.
        whole_dataset: the stage must see every kept item at once (dataset-wide
            statistics such as percentile filters); runners give it one batch.
        uses_frames: the stage reads the decoded ``frames`` of a clip (see
            :mod:`curation.media.frames`); runners drop the frames after the last such stage.
    """

    name: ClassVar[str]
    requires: ClassVar[frozenset[str]]
    populates: ClassVar[frozenset[str]]
    resources: ClassVar[Resources]
    consumes: ClassVar[type[Item]]
    fans_out: ClassVar[bool] = False
    whole_dataset: ClassVar[bool] = False
    uses_frames: ClassVar[bool] = False

    def __init_subclass__(cls, abstract: bool = False, **kwargs: object) -> None:
        """Enforce the contract on concrete subclasses (``abstract=True`` skips it for shared bases)."""
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        for attr in ("name", "requires", "populates", "resources", "consumes"):
            if not hasattr(cls, attr):
                raise TypeError(f"stage {cls.__name__} must declare class attribute {attr!r}")
        if not isinstance(cls.name, str) or not _NAME.match(cls.name):
            raise TypeError(f"stage {cls.__name__}.name must be a snake_case str, got {cls.name!r}")
        for attr in ("requires", "populates"):
            value = getattr(cls, attr)
            if not isinstance(value, frozenset) or not all(isinstance(v, str) for v in value):
                raise TypeError(f"stage {cls.__name__}.{attr} must be a frozenset of field names")
            unknown = value - ALL_FIELDS
            if unknown:
                raise TypeError(f"stage {cls.__name__}.{attr} names unknown fields {sorted(unknown)}")
        if not isinstance(cls.resources, Resources):
            raise TypeError(f"stage {cls.__name__}.resources must be a Resources")
        if not (isinstance(cls.consumes, type) and issubclass(cls.consumes, Item)):
            raise TypeError(f"stage {cls.__name__}.consumes must be an Item subclass")
        if cls.process is Stage.process:
            raise TypeError(f"stage {cls.__name__} must implement process()")

    def setup(self) -> None:
        """Load models / open clients; called once per worker before any ``process``."""

    def process(self, batch: list[Item]) -> list[Item]:
        """Process a batch of kept items of type ``consumes``.

        Returns:
            Every received item (possibly marked filtered/quarantined), plus new
            children when ``fans_out``.
        """
        raise NotImplementedError

    def describe(self) -> str:
        """One line: name, inputs and outputs."""
        flags = "".join((" [fan-out]" if self.fans_out else "", " [whole dataset]" if self.whole_dataset else ""))
        return (
            f"{self.name} ({self.consumes.level}){flags}: requires {sorted(self.requires)} "
            f"→ populates {sorted(self.populates)}; cpus={self.resources.cpus} gpus={self.resources.gpus}"
        )
