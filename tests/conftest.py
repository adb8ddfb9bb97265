import os

import torch

# The networks are small: one intra-op thread is fastest and keeps runs reproducible.
torch.set_num_threads(1)
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
