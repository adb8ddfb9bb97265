"""Project settings (https://docs.kedro.org/en/stable/configure/configuration_basics/)."""

from gail_pipeline import config_loader
from gail_pipeline.hooks import GridConfigHook, ParametersCheckHook, TorchThreadsHook, UnitTrackingHook
from gail_pipeline.summary import RunSummaryHook

# The grid hook hands the resolved parameters (env and --params included) to the
# pipeline registry, which builds one namespaced pipeline per task from them; the parameters
# check refuses a bad value of any settings group before the first node runs.
HOOKS = (GridConfigHook(), ParametersCheckHook(), TorchThreadsHook(), UnitTrackingHook(), RunSummaryHook())

CONFIG_LOADER_CLASS = config_loader.CONFIG_LOADER_CLASS
CONFIG_LOADER_ARGS = config_loader.CONFIG_LOADER_ARGS
