"""Kedro pipelines: thin nodes over the library modules, one namespace per task."""
