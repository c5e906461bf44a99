"""A config value of the wrong type is named before anything is built."""
import pytest

from mmresnet.apis.runner import tool_config
from tools.train import parse_args

CFG = '''
model = dict(type='PaperResNetClassifier')
train_cfg = dict(by_epoch=False, max_iters=10)
train_dataloader = dict(batch_size=4, num_workers=0)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
'''


@pytest.fixture
def cfg_file(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text(CFG)
    return str(path)


@pytest.mark.parametrize('option, words', [
    ('train_cfg.max_iters=abc', ["'train_cfg.max_iters'", 'positive int', "'abc'"]),
    ('train_cfg.max_iters=1.5', ["'train_cfg.max_iters'", 'float']),
    ('train_cfg.max_iters=0', ["'train_cfg.max_iters'", '0']),
    ('train_dataloader.batch_size=big', ["'train_dataloader.batch_size'"]),
    ('optim_wrapper.optimizer.lr=fast', ["'optim_wrapper.optimizer.lr'", 'number']),
])
def test_wrong_type_names_key_and_expectation(cfg_file, tmp_path, option, words):
    args = parse_args([cfg_file, '--work-dir', str(tmp_path), '--cfg-options', option])
    with pytest.raises((TypeError, ValueError)) as err:
        tool_config(args, 'train')
    for w in words:
        assert w in str(err.value)


def test_good_values_pass_and_missing_config_named(cfg_file, tmp_path):
    args = parse_args([cfg_file, '--cfg-options', 'train_cfg.max_iters=20'])
    assert tool_config(args, 'train').train_cfg.max_iters == 20
    with pytest.raises(FileNotFoundError, match='nope.py'):
        tool_config(parse_args([str(tmp_path / 'nope.py')]), 'train')


def test_amp_without_a_gpu_is_named_before_the_runner(tmp_path):
    from mmengine.config import Config

    from mmresnet.apis.config_check import check_amp_device
    cfg = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16')))
    with pytest.raises(RuntimeError, match='AmpOptimWrapper.*needs a GPU.*DeviceIterBased'):
        check_amp_device(cfg, cuda_available=False)
    check_amp_device(cfg, cuda_available=True)
    check_amp_device(Config(dict(optim_wrapper=dict(type='OptimWrapper'))), False)
