"""The one way in for a config (:func:`mmresnet.config.prepare_config`) and the one model
builder (:func:`mmresnet.config.build_model`): what each mode adds, options merged as given,
the checkpoint, the scope and the seeded weights."""
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmresnet.config import build_model, check_checkpoint, prepare_config, use_scope
from mmresnet.utils import ConfigError

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = 'configs/demo/faster-rcnn_paper-r18-c4_demo.py'
CLS = osp.join(ROOT, 'configs/cifar/paper-resnet20_b128-64k_cifar10.py')
NAME = 'potted plant, indoor'


def test_a_value_with_a_space_and_a_comma_arrives_unchanged(tmp_path):
    from mmresnet.apis.runner import testing_config, training_config
    options = {'train_dataloader.dataset.metainfo': dict(classes=(NAME, 'tree')),
               'note': NAME}
    for cfg in (prepare_config(CLS, 'train', str(tmp_path), options),
                training_config(CLS, str(tmp_path), options),  # the demo's road
                testing_config(CLS, 'x.pth', str(tmp_path), options)):
        assert cfg.note == NAME
        assert cfg.train_dataloader.dataset.metainfo.classes == (NAME, 'tree')


def test_what_each_mode_adds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default work dir is relative
    cfg = prepare_config(CLS, 'train')
    assert cfg.work_dir == osp.join('./work_dirs', 'paper-resnet20_b128-64k_cifar10')
    assert cfg.launcher == 'none'
    assert prepare_config(CLS, 'test', 'w').work_dir == 'w'
    infer = prepare_config(osp.join(ROOT, DEMO), 'infer')
    assert infer.visualizer.vis_backends == []
    for mode in ('export', 'analysis', 'benchmark'):
        cfg = prepare_config(CLS, mode)
        assert 'launcher' not in cfg and 'work_dir' not in cfg
        assert cfg.visualizer.vis_backends == [dict(type='LocalVisBackend')]
    # a config object is copied, not changed
    given = Config(dict(model=dict(type='PaperResNetClassifier'), x=1))
    assert prepare_config(given, 'analysis', cfg_options={'x': 2}).x == 2 and given.x == 1


def test_bad_modes_launchers_and_configs_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"unknown mode 'fit'; allowed values: \('train'"):
        prepare_config(CLS, 'fit')
    with pytest.raises(ValueError, match="unknown launcher 'torchrun'"):
        prepare_config(CLS, 'train', launcher='torchrun')
    with pytest.raises(ValueError,
                       match="launcher 'pytorch' starts train and test runs; export runs"):
        prepare_config(CLS, 'export', launcher='pytorch')
    no_model = tmp_path / 'no_model.py'
    no_model.write_text('train_cfg = dict(max_iters=1)\n')
    with pytest.raises(ConfigError, match=f"{no_model} has no 'model': export needs a model"):
        prepare_config(str(no_model), 'export')
    no_test = tmp_path / 'no_test.py'
    no_test.write_text("model = dict(type='PaperResNetClassifier')\n")
    with pytest.raises(ConfigError, match="no 'test_dataloader': inference needs"):
        prepare_config(str(no_test), 'infer')
    with pytest.raises(ConfigError, match="'train_cfg.max_iters' must be a positive int"):
        prepare_config(CLS, 'benchmark', cfg_options={'train_cfg.max_iters': 'abc'})


def test_a_launcher_sets_no_environment(tmp_path, monkeypatch):
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    cfg = prepare_config(CLS, 'train', str(tmp_path), launcher='pytorch')
    assert 'LOCAL_RANK' not in os.environ
    assert cfg.launcher == 'pytorch' and cfg.env_cfg.dist_cfg.timeout > 0
    if not torch.cuda.is_available():
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    # the process that would open the group without torchrun's LOCAL_RANK is told so
    from mmresnet.apis.runner import build_runner
    with pytest.raises(RuntimeError, match='torchrun .* sets LOCAL_RANK'):
        build_runner(cfg)


def _tiny_classifier(tmp_path, init_cfg=None):
    return Config(dict(default_scope='mmdet', model=dict(
        type='PaperResNetClassifier', num_classes=3,
        backbone=dict(type='PaperResNet', depth=20, arch='cifar', out_indices=(2, ),
                      init_cfg=init_cfg))))


def test_build_model_weights_checkpoint_seed_and_init(tmp_path):
    cfg = _tiny_classifier(tmp_path)
    a, b = build_model(cfg, seed=3), build_model(cfg, seed=3)
    assert not a.training
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values()))
    ckpt = str(tmp_path / 'a.pth')
    torch.save(dict(state_dict=a.state_dict(), meta=dict(dataset_meta=dict(classes=['x']))),
               ckpt)
    loaded = build_model(cfg, ckpt)
    assert loaded.dataset_meta == dict(classes=['x'])
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 loaded.state_dict().values()))
    with pytest.raises(FileNotFoundError, match='checkpoint file not found: nope.pth'):
        build_model(cfg, 'nope.pth')
    assert check_checkpoint('https://example.com/x.pth') == 'https://example.com/x.pth'
    # the config's own init: a Pretrained file it names must exist; with a seed it is
    # never read
    missing = _tiny_classifier(tmp_path, dict(type='Pretrained',
                                              checkpoint=str(tmp_path / 'gone.pth')))
    with pytest.raises(FileNotFoundError, match="the config's init needs a file"):
        build_model(missing)
    assert not build_model(missing, seed=0).training


def test_the_scope_is_the_configs():
    from mmengine.registry import DefaultScope
    assert use_scope(Config(dict(default_scope='mmresnet'))) == 'mmresnet'
    assert DefaultScope.get_current_instance().scope_name == 'mmresnet'
    assert use_scope() == 'mmdet'
    assert DefaultScope.get_current_instance().scope_name == 'mmdet'


def _dumped_after_tta(tmp_path, config, tta_file=None):
    """The config a ``--tta`` test run dumps (model wrapped, TestTimeAug pipeline)."""
    from mmresnet.apis.runner import enable_tta
    cfg = prepare_config(config, 'test', str(tmp_path))
    if tta_file:  # mmdet's own tta settings (its wheel's configs)
        tta = Config.fromfile(tta_file)
        cfg.tta_model, cfg.tta_pipeline = tta.tta_model, tta.tta_pipeline
    enable_tta(cfg)
    path = str(tmp_path / 'dumped.py')
    cfg.dump(path)
    return path


def test_a_tta_runs_config_is_run_in_one_view(tmp_path):
    from mmengine.dataset import Compose

    from mmresnet.resources import read_config
    use_scope()
    plain = prepare_config(DEMO, 'export')
    dumped = _dumped_after_tta(tmp_path, DEMO)
    assert Config.fromfile(dumped).model.type == 'DetTTAModel'
    for mode in ('export', 'infer', 'analysis', 'benchmark'):
        cfg = prepare_config(dumped, mode)
        assert cfg.model == plain.model, mode
        steps = [t['type'] for t in cfg.test_dataloader.dataset.pipeline]
        assert 'TestTimeAug' not in steps and steps.count('RandomFlip') == 1
    # the single view gives the image the plain test pipeline gives
    ds = read_config(DEMO).test_dataloader.dataset
    info = dict(img_path=osp.join(ROOT, ds.data_root, 'JPEGImages', 'OSBS_029.jpg'),
                img_id=0, instances=[dict(bbox=[0, 0, 10, 10], bbox_label=0, ignore_flag=0)])
    a = Compose(plain.test_dataloader.dataset.pipeline)(dict(info))
    b = Compose(cfg.test_dataloader.dataset.pipeline)(dict(info))
    assert torch.equal(a['inputs'], b['inputs'])
    assert a['data_samples'].scale_factor == b['data_samples'].scale_factor
    assert b['data_samples'].flip is False
    # a test run keeps the augmentation
    assert prepare_config(dumped, 'test', str(tmp_path)).model.type == 'DetTTAModel'


def test_a_tta_with_views_of_several_scales_is_refused_naming_them(tmp_path):
    import mmdet
    mmdet_cfgs = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
    dumped = _dumped_after_tta(tmp_path, DEMO, osp.join(mmdet_cfgs, 'retinanet',
                                                         'retinanet_tta.py'))
    with pytest.raises(ConfigError, match=r"dumped.py: the test pipeline is a TestTimeAug "
                       r"with 3 views at one step \(.*'scale': \(666, 400\).*none of which"):
        prepare_config(dumped, 'export')


def test_a_wrapped_test_set_is_turned_back_where_tta_put_its_pipeline(tmp_path):
    from mmresnet.apis.runner import enable_tta
    cfg = prepare_config(DEMO, 'test', str(tmp_path))
    plain_pipeline = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset = dict(type='RepeatDataset', times=2,
                                       dataset=cfg.test_dataloader.dataset)
    enable_tta(cfg)
    inner = cfg.test_dataloader.dataset.dataset
    assert inner.pipeline[1]['type'] == 'TestTimeAug'
    path = str(tmp_path / 'wrapped.py')
    cfg.dump(path)
    single = prepare_config(path, 'export').test_dataloader.dataset
    steps = [t['type'] for t in single.dataset.pipeline]
    assert single.type == 'RepeatDataset' and 'TestTimeAug' not in steps
    assert len(steps) == len(plain_pipeline) + 1  # and the flip that never flips
