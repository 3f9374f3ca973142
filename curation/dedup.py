"""Source deduplication by content: the same bytes under two URIs are one source.

The key is the resume cache's :func:`curation.cache.content_hash` (sha256 of the video's
bytes, and of its sidecar's when there is one), computed once per source and shared with the
cache. The first source (in input order) with a given hash is processed; every later one is
*filtered* before any stage runs, with reason ``probe:duplicate``, ``duplicate_of`` set to the
first one's ``source_id`` and an error naming its URI. It yields no clips and stays in the
accounting (``quarantine.parquet`` lists it with its reason, like every source not kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from curation.items import SourceItem

#: The reason a duplicate source is filtered for (see :data:`curation.reasons.CODES`).
DUPLICATE = "probe:duplicate"


def mark_duplicates(sources: Sequence[SourceItem], digests: Mapping[str, str | None]) -> list[SourceItem]:
    """Filter every source whose content hash an earlier source already has; return those marked.

    Args:
        sources: in input order (the first of equal sources is kept).
        digests: ``source_id`` → content hash; None (unreadable: the probe quarantines it) never matches.
    """
    first: dict[str, SourceItem] = {}
    duplicates = []
    for source in sources:
        digest = digests.get(source.source_id)
        if digest is None:
            continue
        original = first.setdefault(digest, source)
        if original is not source:
            source.filter_out(DUPLICATE)
            source.duplicate_of = original.source_id
            source.error = f"same content as source {original.source_id} ({original.source_uri})"
            duplicates.append(source)
    return duplicates
