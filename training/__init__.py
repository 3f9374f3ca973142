"""SVD three-stage training: model package, EDM objective, data, trainer, launchers.

Modules: ``model`` (build/save/load the pipeline), ``edm`` (preconditioning and σ
sampling), ``objective`` (the I2V denoising loss), ``config`` (``StageConfig``),
``data`` (dataset version → frame batches), ``freeze`` / ``ema`` / ``checkpoint``
(loop parts), ``trainer`` (one stage), ``main`` (process entry point),
``launchers`` (where a stage runs) and ``api`` (``run_stage`` / ``run_all_stages``).
Nothing here imports ``curation``; datasets are read via ``vidforge.dataset``.
"""
