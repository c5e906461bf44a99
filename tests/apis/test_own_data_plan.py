"""The schedule of tools/demo.py --data: from the data size, within the time budget."""
import numpy as np
import pytest

from mmresnet.apis.own_data import fit_schedule, pretrain_batch, wanted_schedule
from mmresnet.datasets import DetectionFolder

SPEED = dict(pretrain_s=0.06, det_s=0.2, infer_s=0.1)  # about this machine's, 2 cores


def _data(n_train, n_val, boxes_per_image=5):
    def images(n, tag):
        return [dict(file_name=f'{tag}{i}.jpg', width=400, height=300,
                     boxes=np.tile([10.0, 10, 60, 60], (boxes_per_image, 1)),
                     labels=np.zeros(boxes_per_image, int),
                     ignore=np.zeros(boxes_per_image, bool)) for i in range(n)]
    return DetectionFolder('/data', 'coco', ['thing'], dict(train=images(n_train, 't'),
                                                             val=images(n_val, 'v')), '', [])


def test_three_images_train_130_epochs_well_within_the_budget():
    wanted = wanted_schedule(_data(2, 1))
    assert wanted['det_iters'] == 130 and wanted['det_iters_per_epoch'] == 1
    assert wanted['pretrain_iters'] == 100  # the floor: 8 passes over 80 crops is 40
    assert wanted['pretrain_batch'] == 32
    plan = fit_schedule(wanted, SPEED, 8 * 60)
    assert plan['det_iters'] == 130 and not plan['cut_by_budget']
    assert plan['validations'] == 10 and plan['val_interval'] == 13
    assert plan['expected_s'] < 2 * 60


def test_three_thousand_images_are_cut_to_the_budget_with_validations_spread():
    wanted = wanted_schedule(_data(2400, 600))
    assert wanted['det_iters'] == 20000  # 130 epochs would be 156,000
    assert wanted['pretrain_iters'] == 600  # 6,000 boxes cropped: 48,000 crops
    plan = fit_schedule(wanted, SPEED, 8 * 60)
    assert plan['cut_by_budget'] and 100 <= plan['det_iters'] < 20000
    assert plan['expected_s'] <= 8 * 60 + 1
    assert 1 <= plan['validations'] and plan['val_interval'] * plan['validations'] >= \
        plan['det_iters']
    # a longer budget buys iterations, not overtime
    longer = fit_schedule(wanted, SPEED, 60 * 60)
    assert longer['det_iters'] > 10 * plan['det_iters'] and longer['expected_s'] <= 3600 + 1


def test_embedded_size_wants_the_demo_schedule():
    wanted = wanted_schedule(_data(28, 9, boxes_per_image=21))  # 588 boxes, the tiles' 587
    assert wanted['pretrain_iters'] == 600 and wanted['pretrain_batch'] == 64
    assert wanted['det_iters'] == 130 * 14


def test_a_budget_too_small_is_refused_with_what_it_needs():
    with pytest.raises(ValueError, match=r'--budget-min 0.5 cannot hold 20 detector '
                       r'iterations .* give at least [\d.]+'):
        fit_schedule(wanted_schedule(_data(200, 50)), dict(SPEED, det_s=2.0), 30)


def test_pretrain_batch_fits_the_crops():
    assert pretrain_batch(4696) == 64 and pretrain_batch(40) == 16 and pretrain_batch(3) == 2


def test_plan_of_three_tiles_says_the_split_and_the_unvalidated(tmp_path):
    """The labelme-style VOC export of three tiles plans (tools/demo.py --data), the
    class-aware split and its unvalidated classes in the plan and its printout; with
    --train-on-all, the plan says the validation images are the training images."""
    import os.path as osp

    from mmresnet.apis.own_data import describe_plan, plan_own_data

    from ..datasets.user_folder_exports import tiles_voc_export
    root, rare = tiles_voc_export(str(tmp_path / 'three'))
    configs = [osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                        'configs', 'demo', name) for name in (
        'paper-resnet18-w16_tree-crops_pretrain_demo.py', 'faster-rcnn_paper-r18-c4_demo.py',
        'faster-rcnn_paper-r18-c4_scratch_demo.py')]
    for train_on_all in (False, True):
        info = plan_own_data(root, str(tmp_path / f'work{train_on_all}'), *configs, 8,
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
