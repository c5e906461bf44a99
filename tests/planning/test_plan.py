"""The plan of tools/demo.py, on a folder (--data) and on the embedded tiles alike: read,
sized, scheduled, configs written and printed."""
import os.path as osp

from mmengine.config import Config

from mmresnet.planning.plan import describe_plan, plan_demo

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
        info = plan_demo(root, str(tmp_path / f'work{train_on_all}'), *CONFIGS, 8,
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
    info = plan_demo(root, str(work), *CONFIGS, 8, speed=SPEED)
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


def test_the_embedded_tiles_are_planned_as_a_folder(tmp_path):
    """No --data: the detector config's own data, planned by the same road: iterations,
    the lengths read from the configs (the options included), configs written complete."""
    work = tmp_path / 'work'
    info = plan_demo(None, str(work), *CONFIGS, 12, speed=SPEED,
                     cfg_options={'train_cfg.max_epochs': 2, 'train_cfg.val_interval': 1,
                                  'optim_wrapper.optimizer.lr': 0.01})
    assert info['root'].endswith(osp.join('data', 'demo_detection'))
    assert info['counts']['train']['images'] == 29 and info['counts']['val']['images'] == 9
    plan = info['plan']
    assert plan['det_iters_per_epoch'] == 14 and plan['det_iters'] == 28
    assert plan['validations'] == 2 and plan['val_interval'] == 14
    assert plan['pretrain_iters'] == 600 and plan['pretrain_batch'] == 64
    for name in ('detector', 'scratch'):
        cfg = Config.fromfile(info['configs'][name])
        assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=28, val_interval=14)
        assert cfg.optim_wrapper.optimizer.lr == 0.01  # the options are in the file
        assert cfg.model.roi_head.bbox_head.num_classes == 1
    pre = Config.fromfile(info['configs']['pretrain'])
    assert pre.train_cfg.type == 'DeviceIterBasedTrainLoop' and pre.train_cfg.max_iters == 600
    lines = []
    describe_plan(info, log=lines.append)
    assert 'detector     28 iterations of 2 images (2.0 epochs of 14), 2 validations ' \
        '(every 14 iterations)' in lines
    assert any(line.startswith(f'expected     {plan["expected_s"] / 60:.1f} min')
               for line in lines)


def test_a_reordered_config_is_planned_by_type(tmp_path):
    """The demo detector config with its schedulers and its training pipeline in another
    order: the planner changes the same entries (the Resize, the warm-up, the lr step)."""
    det = Config.fromfile(CONFIGS[1])
    det.param_scheduler = list(reversed(det.param_scheduler))
    pipe = det.train_dataloader.dataset.pipeline
    det.train_dataloader.dataset.pipeline = [pipe[0], pipe[1], pipe[3], pipe[2], pipe[4]]
    reordered = str(tmp_path / 'reordered.py')
    det.dump(reordered)
    infos = [plan_demo(None, str(tmp_path / name), CONFIGS[0], config, CONFIGS[2], 12,
                       speed=SPEED) for name, config in (('own', CONFIGS[1]),
                                                         ('reordered', reordered))]
    own, moved = (Config.fromfile(i['configs']['detector']) for i in infos)
    assert moved.train_dataloader.dataset.pipeline[3] == own.train_dataloader.dataset.pipeline[2]
    assert moved.train_dataloader.dataset.pipeline[3].type == 'Resize'
    assert list(reversed(moved.param_scheduler)) == own.param_scheduler
    step = next(s for s in moved.param_scheduler if s.type == 'MultiStepLR')
    assert step.milestones == [1456] and step.end == 1820
