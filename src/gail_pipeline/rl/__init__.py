"""The reinforcement-learning core: policies, sampler, GAE, TRPO. Plain torch/numpy, no Kedro."""
