"""Metric families of generated video, one module each (definitions in each module's docstring).

* :mod:`~evaluation.metrics.frechet` — Fréchet distance between two Gaussian feature fits;
  :mod:`~evaluation.metrics.fvd` (I3D features of videos) and :mod:`~evaluation.metrics.fid`
  (Inception features of frames) build on it, with networks from :mod:`~evaluation.metrics.feature_net`.
* :mod:`~evaluation.metrics.clip_score` — CLIP image–frame and text–frame similarity.
* :mod:`~evaluation.metrics.fidelity` — PSNR, SSIM (torchmetrics) and LPIPS against a reference.
* :mod:`~evaluation.metrics.temporal` — flow-warp error and temporal PSNR.
* :mod:`~evaluation.metrics.motion` — motion faithfulness to the requested motion bucket.
* :mod:`~evaluation.metrics.denoising` — held-out EDM denoising loss.
* :mod:`~evaluation.metrics.intervals` — bootstrap confidence intervals, paired differences.

Importing this package imports no torch; each module imports what it needs.
"""
