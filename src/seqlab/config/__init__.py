"""From Hydra config to objects: composing, checking and instantiating it, and what Hydra tells a run."""
