"""seqlab's own nets saved the Hugging Face way (huggingface_hub's PyTorchModelHubMixin): save_pretrained
writes config.json (the constructor arguments, and the net's class under "architecture"), model.safetensors
and a model card (README.md); <NetClass>.from_pretrained(folder) builds the net from config.json and loads its
weights."""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import PyTorchModelHubMixin
from huggingface_hub.constants import SAFETENSORS_SINGLE_FILE
from safetensors.torch import load_model

ARCHITECTURE = "architecture"  # the config.json key naming the net's class: seqlab.models.<module>.<Class>

# filled by save_pretrained's model_card_kwargs: dataset, license (of the data), metrics (name -> value),
# command
MODEL_CARD = """---
{{ card_data }}
---

# {{ name }}

A seqlab net (`{{ architecture }}`) saved with `save_pretrained`.

- Dataset: {{ dataset | default("not recorded", true) }}
- License of the data: {{ license | default("not recorded", true) }}
- Command: {% if command %}`{{ command }}`{% else %}not recorded{% endif %}
- Test metrics:{% for key, value in (metrics or {}).items() %}
  - {{ key }}: {{ value }}{% else %} not recorded{% endfor %}

## Loading

```python
from {{ module }} import {{ name }}

net = {{ name }}.from_pretrained("path/to/this/folder")
```

config.json holds the net's constructor arguments, model.safetensors its weights. The tokenizer files beside
them are read by seqlab's loaders (`make predict`, `make translate`, `make generate`), which load the whole
folder.
"""


def architecture(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class NetHubMixin(PyTorchModelHubMixin, library_name="seqlab", tags=["seqlab"],
                  model_card_template=MODEL_CARD):
    """Mixed into a seqlab net (class Net(nn.Module, NetHubMixin)): the constructor arguments it was built
    with become its config.json."""

    def save_pretrained(self, save_directory: str | Path, *, config: dict | None = None,
                        model_card_kwargs: dict | None = None, **kwargs):
        """config.json (with the net's class under ARCHITECTURE), model.safetensors (tied weights once) and
        the model card README.md, which describes these weights: one left by an earlier save is replaced."""
        folder = Path(save_directory)
        (folder / "README.md").unlink(missing_ok=True)
        cls = type(self)
        config = {**(config or self._hub_mixin_config or {}), ARCHITECTURE: architecture(cls)}
        card = {"name": cls.__name__, "module": cls.__module__, ARCHITECTURE: architecture(cls),
                **(model_card_kwargs or {})}
        return super().save_pretrained(folder, config=config, model_card_kwargs=card, **kwargs)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision, cache_dir, force_download, local_files_only, token,
                         map_location: str = "cpu", strict: bool = True, **model_kwargs):
        """A local folder loads strictly (a weight missing from model.safetensors, or one the net lacks, is an
        error, not a random weight) and without printing; a hub repository as the mixin loads it."""
        if not os.path.isdir(model_id):
            return super()._from_pretrained(
                model_id=model_id, revision=revision, cache_dir=cache_dir, force_download=force_download,
                local_files_only=local_files_only, token=token, map_location=map_location, strict=strict,
                **model_kwargs,
            )
        weights = os.path.join(model_id, SAFETENSORS_SINGLE_FILE)
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"no {SAFETENSORS_SINGLE_FILE} in {model_id}")
        net = cls(**model_kwargs)
        load_model(net, weights, strict=strict, device=map_location)  # restores tied weights
        return net.eval()
