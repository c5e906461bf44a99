"""The plan of tools/demo.py --data on a folder: read, sized, scheduled, configs written
and printed."""
import os.path as osp

from mmengine.config import Config

from mmresnet.planning.plan import describe_plan, plan_own_data

from .test_schedule import SPEED

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = [osp.join(ROOT, 'configs', 'demo', name) for name in (
    'paper-resnet18-w16_tree-crops_pretrain_demo.py', 'faster-rcnn_paper-r18-c4_demo.py',
    'faster-rcnn_paper-r18-c4_scratch_demo.py')]


def test_plan_of_three_tiles_says_the_split_and_the_unvalidated(tmp_path):
    """The labelme-style VOC export of three tiles plans (tools/demo.py --data), the
    class-aware split and its unvalidated classes in the plan and its printout; with
    --train-on-all, the plan says the validation images are the training images."""
    from ..datasets.user_folder_exports import tiles_voc_export
    root, rare = tiles_voc_export(str(tmp_path / 'three'))
    for train_on_all in (False, True):
        info = plan_own_data(root, str(tmp_path / f'work{train_on_all}'), *CONFIGS, 8,
                             speed=SPEED, train_on_all=train_on_all)
        lines = []
        describe_plan(info, log=lines.append)
        text = '\n'.join(lines)
        assert info['val_is_train'] is train_on_all
        if train_on_all:
            assert info['unvalidated'] == [] and 'THE TRAINING IMAGES' in text
            assert info['counts']['val']['images'] == 3
        else:
            assert info['unvalidated'] == ['dead tree', 'shrub']
            assert "unvalidated  ['dead tree', 'shrub']" in text
            assert info['counts']['train']['images'] == 2
            assert info['counts']['val']['per_class'] == {'dead tree': 0, 'shrub': 0,
                                                          'tree': 61}


def test_written_configs_carry_the_header_and_read_back(tmp_path):
    """Each written config: one header line naming its source and the plan, then a config
    that MMEngine reads, pointed at the data, without the base files' helper variables."""
    from mmresnet.planning.configs import STALE_KEYS

    from ..datasets.user_folder_exports import tiles_voc_export
    root, _ = tiles_voc_export(str(tmp_path / 'three'))
    work = tmp_path / 'work'
    info = plan_own_data(root, str(work), *CONFIGS, 8, speed=SPEED)
    assert sorted(info['configs']) == ['detector', 'pretrain', 'scratch']
    for (name, path), source in zip(sorted(info['configs'].items()),
                                    [CONFIGS[1], CONFIGS[0], CONFIGS[2]], strict=True):
        header, body = open(path, encoding='utf-8').read().split('\n', 1)
        assert header.startswith(f'# Written by tools/demo.py --data {root} on ')
        assert source in header and str(work / 'plan.json') in header
        assert not body.startswith('#')
        cfg = Config.fromfile(path)
        assert not set(STALE_KEYS) & set(cfg.keys()), name
        assert cfg.train_dataloader.dataset.data_root == root
    det = Config.fromfile(info['configs']['detector'])
    assert det.model.backbone.init_cfg.checkpoint == str(work / 'pretrain' / 'backbone.pth')
    assert det.train_cfg.max_iters == info['plan']['det_iters']
