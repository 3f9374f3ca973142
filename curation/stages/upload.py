"""Upload: publish each kept clip to ``<prefix>/clips/<clip_id>.mp4`` in the object store.

Runs after the filters, so only kept clips are stored. Store errors are not
item errors: transient ones are retried by the store and then propagate (the
runner re-raises them) so the task is retried as a whole. The stage holds the
store's settings (picklable, so it can travel to a Ray worker) and opens the
store in ``setup()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from curation.items import ClipItem, Item
from curation.stages.base import Resources, Stage

if TYPE_CHECKING:
    from vidforge.settings import StoreSettings
    from vidforge.store import ObjectStore


def clip_key(prefix: str, clip_id: str) -> str:
    """Object key of a clip under a dataset prefix."""
    return f"{prefix}/clips/{clip_id}.mp4"


class UploadStage(Stage):
    """Fill ``uri`` by uploading ``clip_path``."""

    name: ClassVar[str] = "upload"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_id", "clip_path"})
    populates: ClassVar[frozenset[str]] = frozenset({"uri"})
    resources: ClassVar[Resources] = Resources(cpus=0.5)
    consumes: ClassVar[type[Item]] = ClipItem

    def __init__(self, store: StoreSettings, prefix: str) -> None:
        """Store the configuration only (the store opens in :meth:`setup`).

        Args:
            store: where to upload (``ObjectStore.settings()`` of the run's store).
            prefix: the dataset prefix (``datasets/<name>/<version>``).
        """
        self.store_settings = store
        self.prefix = prefix
        self.store: ObjectStore | None = None

    def setup(self) -> None:
        """Open the store."""
        from vidforge.store import open_store

        self.store = open_store(self.store_settings)

    def process(self, batch: list[Item]) -> list[Item]:
        """Upload every clip of the batch."""
        assert self.store is not None, "setup() was not called"
        for clip in batch:
            assert isinstance(clip, ClipItem)
            clip.uri = self.store.put_file(clip.clip_path, clip_key(self.prefix, clip.clip_id))
        return batch
