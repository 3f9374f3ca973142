"""Turn a submitted form into a stored job: validate, bound, resize, hash, store.

Order matters for the promises the API makes: the form's field names are
checked first (unknown ones are named in a 422), then its types, then the
parameters against the live model's defaults and the service's limits; the
image is checked from its header (size bounds from the model's resolution)
before it is decoded, and resized to the job's resolution; only then does the
store apply the idempotency key, the caller's quota and the queue bound in one
serial transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import ValidationError

from services.serving.errors import InvalidParameterError
from services.serving.images import ImageBounds, prepare
from services.serving.params import check_known, resolve_params
from services.serving.schemas import JobForm
from services.serving.store import NewJob, SubmitLimits

if TYPE_CHECKING:
    from services.serving.deps import ServingState
    from services.serving.entities import Job
    from services.serving.loader import LoadedModel

IDEMPOTENCY_HEADER = "Idempotency-Key"


def parse_form(fields: Mapping[str, str]) -> JobForm:
    """Validate the form's fields (names, then types). Raises UnknownParameterError / InvalidParameterError."""
    check_known(fields)
    try:
        return JobForm.model_validate(dict(fields))
    except ValidationError as e:
        parts = [f"{'.'.join(str(p) for p in err['loc']) or 'request'}: {err['msg']}" for err in e.errors()]
        raise InvalidParameterError("; ".join(parts)) from None


def request_hash(fields: Mapping[str, str], image: bytes) -> str:
    """The identity of a request for idempotency: sha256 over the image bytes and the fields as sent."""
    h = hashlib.sha256(hashlib.sha256(image).digest())
    h.update(json.dumps(sorted(fields.items())).encode())
    return h.hexdigest()


def image_bounds(state: ServingState, model: LoadedModel) -> ImageBounds:
    """The upload bounds for ``model`` from ``settings.serving``."""
    s = state.settings.serving
    size = (model.defaults.height, model.defaults.width)
    return ImageBounds.for_model(s.max_upload_bytes, s.min_image_side, s.max_image_pixels, size, model.latent_factor)


def accept(
    state: ServingState, owner: str, fields: Mapping[str, str], image: bytes, idempotency_key: str | None
) -> tuple[Job, bool]:
    """Validate and store one submission by ``owner``; returns ``(job, replayed)``.

    Raises:
        UnknownParameterError, InvalidParameterError, InvalidImageError, PayloadTooLargeError (4xx);
        NoModelLoadedError (503); IdempotencyConflictError (409);
        QuotaExceededError, QueueFullError (429 with Retry-After).
    """
    form = parse_form(fields)
    model = state.watcher.require()
    params = resolve_params(form.to_request(), model.defaults, state.limits)
    png = prepare(image, image_bounds(state, model), (params.width, params.height))
    s = state.settings.serving
    limits = SubmitLimits(
        max_queued=s.max_queue, max_active_per_owner=s.max_active_jobs_per_token,
        retry_after_s=state.workers.retry_after_s(s.max_queue),
    )
    new = NewJob(owner=owner, params=params.to_dict(), total_steps=params.num_inference_steps, image_png=png,
                 request_hash=request_hash(fields, image), idempotency_key=idempotency_key,
                 return_frames=form.return_frames)
    return state.store.submit(new, limits)
