"""Sample expert trajectories to Parquet and subsample the paper's datasets."""

from gail_pipeline.pipelines.demonstrations.pipeline import create_pipeline

__all__ = ["create_pipeline"]
