"""A user's mistake ends a tool with the message and what to do, no traceback, exit status
2; --debug or MMRESNET_DEBUG=1 shows the traceback; a fault of the program keeps it."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmresnet.apis.cli import report_user_error, run_tool
from mmresnet.utils import ConfigError
from mmresnet.checkpoint import RecipeMismatchError
from mmresnet.datasets import DataError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENV = dict(os.environ, OMP_NUM_THREADS='1')
ENV.pop('MMRESNET_DEBUG', None)


def _raise(exc):
    def main():
        raise exc
    return main


@pytest.mark.parametrize('exc, hint', [
    (DataError('data/mine: 2 problem(s)'), 'correct the annotation or image files'),
    (ConfigError("config key 'train_cfg.max_iters' must be a positive int"),
     'correct the config key'),
    (RecipeMismatchError('checkpoint x.pth was trained as ResNet-50'),
     'load a checkpoint trained for this network'),
    (FileNotFoundError('config file not found: nope.py'), 'check the path'),
])
def test_user_errors_exit_2_with_message_and_hint(exc, hint, capsys, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['tool.py'])
    monkeypatch.delenv('MMRESNET_DEBUG', raising=False)
    with pytest.raises(SystemExit) as end:
        run_tool(_raise(exc))
    assert end.value.code == 2
    err = capsys.readouterr().err
    assert f'tool.py: error: {exc}' in err and f'what to do: {hint}' in err
    assert 'Traceback' not in err and '--debug' in err


def test_debug_flag_or_variable_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['tool.py', '--debug', 'x'])
    seen = []

    def main():
        seen.append(list(sys.argv))
        raise DataError('bad')
    with pytest.raises(DataError):
        run_tool(main)
    assert seen == [['tool.py', 'x']]  # the flag is the wrapper's, not the tool's
    monkeypatch.setattr(sys, 'argv', ['tool.py'])
    monkeypatch.setenv('MMRESNET_DEBUG', '1')
    with pytest.raises(DataError):
        run_tool(_raise(DataError('bad')))


def test_a_program_fault_keeps_its_traceback(monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['tool.py'])
    with pytest.raises(ZeroDivisionError):
        run_tool(_raise(ZeroDivisionError('a bug')))
    assert report_user_error(KeyError('id')) is None


def _tool(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=ENV)
    return proc.returncode, proc.stderr


@pytest.mark.e2e
def test_tools_end_on_user_errors_without_a_traceback(tmp_path):
    code, err = _tool('tools/train.py', 'configs/nope.py')
    assert code == 2 and 'config file not found: configs/nope.py' in err
    assert 'Traceback' not in err
    config = 'configs/demo/faster-rcnn_paper-r18-c4_demo.py'
    code, err = _tool('tools/test.py', config, 'x.pth', '--cfg-options', 'train_cfg.max_epochs')
    assert code == 2 and 'each value is key=value' in err
    # a data error of tools/demo.py --data, with the traceback asked for (without it: the
    # broken-folder test of tests/tools/test_demo_own_data.py)
    os.makedirs(tmp_path / 'empty' / 'Annotations')
    code, err = _tool('tools/demo.py', '--data', str(tmp_path / 'empty'), '--work-dir',
                      str(tmp_path / 'w'), '--debug')
    assert code == 1 and 'Traceback' in err and 'DataError' in err
    assert 'no .xml annotation files' in err


def test_the_process_group_is_destroyed_however_the_tool_ends(tmp_path):
    import torch.distributed as dist
    for i, main in enumerate((lambda: 'done', _raise(FileNotFoundError('x.py')))):
        dist.init_process_group('gloo', init_method=f'file://{tmp_path}/pg{i}', rank=0,
                                world_size=1)
        try:
            assert run_tool(main) == 'done'
        except SystemExit as exc:
            assert exc.code == 2
        assert not dist.is_initialized()
