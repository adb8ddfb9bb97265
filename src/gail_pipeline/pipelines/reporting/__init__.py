"""Our results beside the paper's."""

from gail_pipeline.pipelines.reporting.pipeline import create_pipeline, create_publish_pipeline

__all__ = ["create_pipeline", "create_publish_pipeline"]
