"""Fig. 7: standard deviation of each 3x3 layer's response over a data set.

Section 4.2, "Analysis of Layer Responses": the responses are "the outputs of each 3x3
layer, after BN and before other nonlinearity (ReLU/addition)". So a forward hook sits on
the norm layer after every 3x3 conv: in a basic block both norms (the second one is before
the addition), in a bottleneck the middle one, and the stem's norm when the stem conv is
3x3 (the CIFAR nets). Every CIFAR 6n+2 net thus gives 6n+1 values.

The std is taken per channel over the data set (all images and positions) and averaged over
channels ("std" below); the std over all channels pooled together is reported too
("std_all"). Statistics are accumulated in float64 sums, never by storing the responses.
The network runs in eval mode (BN with its running statistics), as at test time.
"""
import os.path as osp

import torch
import torch.nn as nn


def response_layers(backbone):
    """``[(name, norm_module), ...]`` of the norms after each 3x3 conv, in forward order.

    Args:
        backbone (PaperResNet): The backbone (or any module with the same structure:
            ``conv1``/``norm1`` stem and ``res_layers`` of blocks with ``conv1..3`` and
            ``norm_names``).
    """
    layers = []
    if _is_3x3(backbone.conv1):
        layers.append((backbone.norm1_name, backbone.norm1))
    for lname in backbone.res_layers:
        for j, block in enumerate(getattr(backbone, lname)):
            for k, norm_name in enumerate(block.norm_names, 1):
                if _is_3x3(getattr(block, f'conv{k}')):
                    layers.append((f'{lname}.{j}.{norm_name}', getattr(block, norm_name)))
    return layers


def _is_3x3(conv):
    return isinstance(conv, nn.Conv2d) and tuple(conv.kernel_size) == (3, 3)


class _Moments:
    """Per-channel running sums of x and x^2 over (N, H, W)."""

    def __init__(self):
        self.n = 0
        self.s = self.s2 = None

    def __call__(self, module, inputs, output):
        x = output.detach().double().transpose(0, 1).flatten(1)  # (C, N*H*W)
        s, s2 = x.sum(1), (x * x).sum(1)
        self.s = s if self.s is None else self.s + s
        self.s2 = s2 if self.s2 is None else self.s2 + s2
        self.n += x.shape[1]

    def stds(self):
        if not self.n:
            raise RuntimeError('no response was recorded: the data set gave no batch')
        mean = self.s / self.n
        var_c = (self.s2 / self.n - mean**2).clamp_min(0)
        mean_all = self.s.sum() / (self.n * len(self.s))
        var_all = (self.s2.sum() / (self.n * len(self.s)) - mean_all**2).clamp_min(0)
        return var_c.sqrt().mean().item(), var_all.sqrt().item()


@torch.no_grad()
def layer_response_stds(backbone, batches):
    """Std of each 3x3 layer's response (after BN, before ReLU/addition) over ``batches``.

    Args:
        backbone (nn.Module): A PaperResNet (put in eval mode here).
        batches (Iterable[Tensor]): Preprocessed input batches ``(N, C, H, W)``.

    Returns:
        list[dict]: one per 3x3 layer, in forward order: ``layer`` (1-based index),
        ``name``, ``std`` (per-channel std, averaged over channels), ``std_all``.
    """
    layers = response_layers(backbone)
    if not layers:
        raise ValueError(f'{type(backbone).__name__} has no 3x3 conv followed by a norm')
    moments = [_Moments() for _ in layers]
    handles = [m.register_forward_hook(h) for (_, m), h in zip(layers, moments)]
    was_training = backbone.training
    backbone.eval()
    try:
        for x in batches:
            backbone(x)
    finally:
        for h in handles:
            h.remove()
        backbone.train(was_training)
    rows = []
    for i, ((name, _), m) in enumerate(zip(layers, moments), 1):
        std, std_all = m.stds()
        rows.append(dict(layer=i, name=name, std=std, std_all=std_all))
    return rows


def find_run(work_dir):
    """``(config, checkpoint)`` of a finished run's work dir: the config MMEngine dumped
    (``<work_dir>/<timestamp>/vis_data/config.py``, newest) and ``last_checkpoint``.

    Raises:
        FileNotFoundError: the work dir, its dumped config or its checkpoint is missing.
    """
    import glob
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir not found: {work_dir}')
    configs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'config.py')))
    if not configs:
        raise FileNotFoundError(f'no <timestamp>/vis_data/config.py in {work_dir}')
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        raise FileNotFoundError(f'{last} not found: the run saved no checkpoint')
    with open(last) as f:
        ckpt = f.read().strip()
    if not osp.isfile(ckpt):  # a run moved since: same file name in this work dir
        ckpt = osp.join(work_dir, osp.basename(ckpt))
    if not osp.isfile(ckpt):
        raise FileNotFoundError(f'checkpoint {ckpt} (from {last}) not found')
    return configs[-1], ckpt


def config_model_and_batches(config, checkpoint, split='test', max_images=None,
                             batch_size=None):
    """The trained model of ``config`` + ``checkpoint`` and its preprocessed batches.

    Args:
        config (str | Config): A classifier config (e.g. configs/fashion_mnist/...).
        checkpoint (str): Its checkpoint (loaded with the project's safe loader).
        split (str): 'test' (test_dataloader) or 'val' (val_dataloader) or 'train'
            (train_dataloader, with its augmentation). Default: 'test'.
        max_images (int, optional): Stop after this many images. Default: all.
        batch_size (int, optional): Override the dataloader's batch size.

    Returns:
        tuple: (model, generator of input tensors after the data preprocessor).
    """
    from mmengine.runner import Runner

    from ..config import build_model, prepare_config
    if split not in ('test', 'val', 'train'):
        raise ValueError(f"unknown split {split!r}; allowed values: 'test', 'val', 'train'")
    cfg = prepare_config(config, 'analysis')
    model = build_model(cfg, checkpoint)
    loader_cfg = cfg[f'{split}_dataloader'].copy()
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if split == 'train':  # one pass, not the InfiniteSampler
        loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    if batch_size:
        loader_cfg['batch_size'] = batch_size
    loader = Runner.build_dataloader(loader_cfg)

    def batches():
        seen = 0
        for data in loader:
            x = model.data_preprocessor(data, False)['inputs']
            if max_images is not None:
                x = x[:max_images - seen]
            seen += len(x)
            yield x
            if max_images is not None and seen >= max_images:
                return

    return model, batches()


def plot_layer_responses(results, out, title=None):
    """Fig. 7: std against layer index, original order (top) and sorted (bottom).

    Args:
        results (dict): label -> rows from :func:`layer_response_stds`.
        out (str): PNG path.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6), dpi=100)
    for label, rows in results.items():
        stds = [r['std'] for r in rows]
        top.plot(range(1, len(stds) + 1), stds, '-', lw=1.2, label=label)
        bottom.plot(range(1, len(stds) + 1), sorted(stds, reverse=True), '-', lw=1.2,
                    label=label)
    top.set_title(title or 'std of 3x3 layer responses (after BN, before ReLU/addition)',
                  fontsize=9)
    top.set_xlabel('layer index (original)')
    bottom.set_xlabel('layer index (sorted by magnitude)')
    for ax in (top, bottom):
        ax.set_ylabel('std')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def format_response_table(results):
    """Markdown table: one column per run, rows by layer index (original order), then the
    mean, then the same values sorted in decreasing order."""
    labels = list(results)
    depth = max(len(r) for r in results.values())

    def cell(rows, i, sort):
        vals = sorted((r['std'] for r in rows), reverse=True) if sort else \
            [r['std'] for r in rows]
        return f'{vals[i]:.3f}' if i < len(vals) else ''

    head = '| layer | ' + ' | '.join(labels) + ' |\n|---|' + '---|' * len(labels)
    lines = ['Original order', '', head]
    lines += [f'| {i + 1} | ' + ' | '.join(cell(results[lb], i, False) for lb in labels)
              + ' |' for i in range(depth)]
    lines += ['| mean | ' + ' | '.join(
        f"{sum(r['std'] for r in results[lb]) / len(results[lb]):.3f}" for lb in labels)
        + ' |']
    lines += ['', 'Sorted by magnitude', '', head]
    lines += [f'| {i + 1} | ' + ' | '.join(cell(results[lb], i, True) for lb in labels)
              + ' |' for i in range(depth)]
    return '\n'.join(lines)
