"""A scripted source stage for the runner tests (sequential and Ray).

The Ray runner pickles stages by reference, so the stage lives in an importable
module: Ray workers import it from the repository root on their ``sys.path``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from curation.items import Item, SourceItem
from curation.stages.base import ItemError, Resources, Stage


class Measure(Stage):
    """Sets ``fps`` to 24 on each source; how it fails is scripted by the end of ``source_path``.

    ``…bad`` raises ``ItemError("bad_path")``, ``…boom`` a ``KeyError`` (both item failures), and
    ``…flaky`` a ``TimeoutError`` (transient: the runner re-raises it).

    Args:
        log_path: when given, ``setup <pid>`` and ``batch <pid> <n>`` lines are appended to it (what a
            Ray actor in another process can leave behind); None = only :attr:`calls` records batches.

    Attributes:
        calls: batch sizes ``process`` saw, in order (in this process).
    """

    name: ClassVar[str] = "measure"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path"})
    populates: ClassVar[frozenset[str]] = frozenset({"fps"})
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = SourceItem

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self.calls: list[int] = []

    def _log(self, line: str) -> None:
        if self.log_path is not None:
            with self.log_path.open("a") as f:
                f.write(line + "\n")

    def setup(self) -> None:
        """Log ``setup <pid>``."""
        self._log(f"setup {os.getpid()}")

    def process(self, batch: list[Item]) -> list[Item]:
        """Log ``batch <pid> <n>``, then measure every source (or fail as its path says)."""
        self.calls.append(len(batch))
        self._log(f"batch {os.getpid()} {len(batch)}")
        for item in batch:
            assert isinstance(item, SourceItem)
            if item.source_path.endswith("bad"):
                raise ItemError("bad_path", f"cannot read {item.source_path}")
            if item.source_path.endswith("boom"):
                raise KeyError("boom")
            if item.source_path.endswith("flaky"):
                raise TimeoutError("store timed out")
            item.fps = 24.0
        return batch


def log_lines(path: Path, kind: str) -> list[list[str]]:
    """The fields after ``kind`` of each ``kind …`` line a :class:`Measure` logged to ``path``."""
    return [line.split()[1:] for line in path.read_text().splitlines() if line.startswith(kind)]
