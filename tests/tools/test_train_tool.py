"""tools/train.py in this process on a toy model (two iterations): a ``--cfg-options`` value
with a space and a comma reaches the config the run dumps unchanged, and ``--auto-scale-lr``
gives the Runner the lr scaled by the total batch over ``base_batch_size``."""
import pytest
from mmengine.config import Config

from ..engine import toy  # noqa: F401  (registers EngineTestToyModel / EngineTestToyData)
from .tool_loader import load_tool

pytestmark = pytest.mark.e2e  # runs a tool end to end

CONFIG = '''
default_scope = 'mmdet'
model = dict(type='EngineTestToyModel')
train_dataloader = dict(dataset=dict(type='EngineTestToyData'), batch_size=4, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=False),
                        collate_fn=dict(type='default_collate'))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.08))
train_cfg = dict(by_epoch=False, max_iters=2)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
note = 'as written'
'''


def train(tmp_path, monkeypatch, *flags):
    config = tmp_path / 'toy_cfg.py'
    config.write_text(CONFIG)
    tool = load_tool('train')
    runners = []
    real = tool.build_runner
    monkeypatch.setattr(tool, 'build_runner', lambda cfg: runners.append(real(cfg))
                        or runners[-1])
    work_dir = tmp_path / f'work{len(list(tmp_path.iterdir()))}'
    tool.main([str(config), '--work-dir', str(work_dir), *flags])
    return runners[0], Config.fromfile(str(work_dir / 'toy_cfg.py'))  # the dumped config


def test_cfg_option_with_a_space_and_a_comma_reaches_the_run(tmp_path, monkeypatch):
    runner, dumped = train(tmp_path, monkeypatch, '--cfg-options',
                           "note='potted plant, indoor'", 'tag=potted plant',
                           'train_cfg.max_iters=1')
    assert dumped.note == 'potted plant, indoor'
    assert dumped.tag == 'potted plant'  # a plain value keeps its space too
    assert dumped.train_cfg.max_iters == 1 and runner.iter == 1


def test_auto_scale_lr_gives_the_runner_the_scaled_lr(tmp_path, monkeypatch):
    runner, _ = train(tmp_path, monkeypatch)
    assert runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(0.08)]
    # batch 4 on 1 process against base_batch_size 16: lr x 4/16
    runner, dumped = train(tmp_path, monkeypatch, '--auto-scale-lr')
    assert dumped.auto_scale_lr.enable is True
    assert runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(0.02)]
    runner, _ = train(tmp_path, monkeypatch, '--auto-scale-lr', '--cfg-options',
                      'train_dataloader.batch_size=8')
    assert runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(0.04)]
