"""Project settings (https://docs.kedro.org/en/stable/configure/configuration_basics/)."""

import os

from kedro.config import OmegaConfigLoader

from gail_pipeline.hooks import GridConfigHook, TorchThreadsHook, UnitTrackingHook

# The grid hook hands the resolved parameters (env and --params included) to the
# pipeline registry, which builds one namespaced pipeline per task from them.
HOOKS = (GridConfigHook(), TorchThreadsHook(), UnitTrackingHook())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/<env>/tasks.yml is read as parameters, so the task registry is a
    # parameter like any other (``params:tasks.<name>``).
    # ${env_or:NAME,default}: an environment variable with a fallback (MLflow's tracking URI).
    "custom_resolvers": {"env_or": lambda name, default: os.environ.get(name, default)},
    # An env's parameters merge key by key into base's: conf/<env>/tasks.yml can change one
    # setting of one task (tasks.hopper.batch_size) without restating the registry.
    "merge_strategy": {"parameters": "soft"},
    "config_patterns": {
        "parameters": ["parameters*", "parameters*/**", "**/parameters*", "tasks*"],
    },
}
