"""Train a TRPO expert per task; measure expert and random reference returns."""

from gail_pipeline.pipelines.expert.pipeline import create_pipeline

__all__ = ["create_pipeline"]
