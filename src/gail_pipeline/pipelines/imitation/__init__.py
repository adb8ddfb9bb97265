"""Train BC, FEM, GTAL and GAIL per (task, dataset size, seed)."""

from gail_pipeline.pipelines.imitation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
