"""The demo configs pointed at a data set: its files, classes and the sizes chosen for it
(:mod:`mmresnet.planning.sizing`), the pretrained backbone, and the written config file,
complete, that ``tools/train.py`` / ``tools/test.py`` run as it is."""
import colorsys

# Top-level helper variables of the demo configs, already merged into the keys MMEngine
# reads; left in a written config they would show the embedded data's values.
STALE_KEYS = ('checkpoint', 'max_epochs', 'max_iters', 'val_interval', 'scale', 'crop_size',
              'data_root', 'dataset_type', 'metainfo', 'norm_cfg', 'train_pipeline',
              'test_pipeline')  # building runners, cutting the crops, loading, drawing


def _palette(n):
    """``n`` distinct colours (golden-angle hues), RGB tuples."""
    return [tuple(int(255 * c) for c in colorsys.hsv_to_rgb((0.33 + i * 0.618) % 1, 0.9,
                                                             0.85)) for i in range(n)]


def resize_steps(pipeline):
    """The ``Resize`` steps of a pipeline, found by type (nested TTA lists too)."""
    for step in pipeline:
        if isinstance(step, (list, tuple)):
            yield from resize_steps(step)
        elif isinstance(step, dict):
            if step.get('type') == 'Resize':
                yield step
            if 'transforms' in step:
                yield from resize_steps(step['transforms'])


def _set_resize(pipeline, size):
    """Every ``Resize`` of a pipeline to a longer side of ``size``."""
    for step in resize_steps(pipeline):
        step['scale'] = (size, size)
        step['keep_ratio'] = True


def pretrained_parts(cfg):
    """The parts of a detection config whose weights the exported backbone gives: the
    backbone and, where there is one, the C4 head (``roi_head.shared_head``)."""
    head = cfg.model.get('roi_head', {}).get('shared_head')
    return [cfg.model.backbone] + ([head] if head is not None else [])


def set_pretrained(cfg, checkpoint, required=True):
    """Point the backbone's and the C4 head's ``Pretrained`` init at ``checkpoint``.

    ``required``: a part without a ``Pretrained`` init is an error naming it; otherwise it
    is left as it is (a from-scratch config's He init)."""
    for part in pretrained_parts(cfg):
        init = part.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            init['checkpoint'] = checkpoint
        elif required:
            raise ValueError(f'{part.get("type")}: the detection config must load the '
                             "exported backbone with init_cfg=dict(type='Pretrained', "
                             f'checkpoint=...), got init_cfg={init!r}')


def detector_overrides(cfg, data, files, sizing, checkpoint, classes):
    """Point a demo detection config at the data, its classes and the chosen sizes."""
    meta = dict(classes=tuple(classes), palette=_palette(len(classes)))
    for split, loader in (('train', 'train_dataloader'), ('val', 'val_dataloader'),
                          ('val', 'test_dataloader')):
        ds = cfg[loader].dataset
        ds.update(data_root=data.root, ann_file=files[split], metainfo=meta,
                  data_prefix=dict(img=''))
        _set_resize(ds.pipeline, sizing['input_size'])
    if 'tta_pipeline' in cfg:
        _set_resize(cfg.tta_pipeline, sizing['input_size'])
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = files['val']
    model = cfg.model
    model.rpn_head.anchor_generator.scales = list(sizing['anchor_scales'])
    model.rpn_head.anchor_generator.ratios = list(sizing['anchor_ratios'])
    model.roi_head.bbox_roi_extractor.roi_layer.output_size = sizing['roi_size']
    model.roi_head.bbox_head.roi_feat_size = sizing['roi_size'] // 2
    model.roi_head.bbox_head.num_classes = len(classes)
    set_pretrained(cfg, checkpoint, required=False)


def pretrain_overrides(cfg, data, files, sizing, classes):
    """Point the demo pretraining config at the data's (thinned) training images and the
    crop size chosen for them (its batch and length: :func:`~.schedule.apply_schedule`)."""
    ds = cfg.train_dataloader.dataset
    crop = sizing['crop_size']
    ds.update(data_root=data.root, ann_file=files['pretrain'], data_prefix=dict(img=''),
              crop_size=crop, context=sizing['context'])
    for step in ds.pipeline:
        if step.get('type') == 'RandomCropPad':
            step.update(size=crop, padding=max(1, crop // 8))
    cfg.model.num_classes = len(classes) + 1


def config_sizes(pre_cfg, det_cfg):
    """The sizes the configs train at, found by type (the detector's training ``Resize``,
    the pretraining dataset's ``crop_size``): what the speed probe times."""
    sides = [max(s['scale']) if isinstance(s['scale'], (list, tuple)) else s['scale']
             for s in resize_steps(det_cfg.train_dataloader.dataset.pipeline)
             if s.get('scale') is not None]
    if not sides:
        raise ValueError(f'{det_cfg.filename}: the training pipeline has no Resize with a '
                         'scale; the demo sizes the detector by it')
    return dict(input_size=int(max(sides)),
                crop_size=int(pre_cfg.train_dataloader.dataset.crop_size))


def write_config(cfg, path, header):
    """Write ``cfg`` to ``path`` (a ``.py`` file) below the comment line ``header``,
    without the base files' helper variables (:data:`STALE_KEYS`, now out of date)."""
    for key in STALE_KEYS:
        cfg.pop(key, None)
    with open(path, 'w', encoding='utf-8') as f:  # what Config.dump writes, after the header
        f.write(f'# {header}\n' + cfg.pretty_text)
    return path


__all__ = ['STALE_KEYS', 'pretrained_parts', 'set_pretrained', 'detector_overrides',
           'pretrain_overrides', 'resize_steps', 'config_sizes', 'write_config']
