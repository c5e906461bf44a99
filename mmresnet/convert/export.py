"""Hand-off from classification to detection: a backbone-only checkpoint."""
import logging

from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from ..checkpoint import output_format, write_checkpoint


def export_backbone(src, dst, prefix='backbone.', fmt=None):
    """Write the ``prefix`` part of checkpoint ``src`` (a classifier's) to ``dst``, with
    the prefix stripped: keys ``conv1.weight``, ``layer1.0.conv1.weight``, ... that detection
    configs load with ``init_cfg=dict(type='Pretrained', checkpoint=dst)``.

    Args:
        fmt (str, optional): 'pth' or 'safetensors' (tensors and a JSON header: the meta
            below in the header's metadata); default: by the suffix of ``dst``.

    Returns:
        int: number of tensors written.
    """
    fmt = output_format(dst, fmt)  # a bad format fails before anything is read
    ckpt = CheckpointLoader.load_checkpoint(src, map_location='cpu')  # safe loader
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{src} holds no state dict')
    out = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not out:
        raise ValueError(f'{src} has no weights under prefix {prefix!r}; its keys look like '
                         f'{list(state)[:3]}')
    meta = dict(source=str(src), prefix=prefix)
    if isinstance(ckpt, dict) and isinstance(ckpt.get('meta'), dict):
        # The recipe (architecture, input normalisation) travels with the weights, so the
        # detector that loads them is checked against it.
        meta.update({k: ckpt['meta'][k] for k in ('epoch', 'iter', 'recipe')
                     if k in ckpt['meta']})
    if 'recipe' not in meta:
        print_log(f'{src} carries no recipe: {dst} will load without the architecture and '
                  'normalisation check', logger='current', level=logging.WARNING)
    write_checkpoint(dict(state_dict=out, meta=meta), dst, fmt)
    return len(out)
