"""Roll out every learned policy: true returns and normalised scores, and the results table."""

from gail_pipeline.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
