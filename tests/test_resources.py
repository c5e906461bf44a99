"""Configs read the one way every tool reads them (train, test, infer, export, analysis,
benchmarks: :func:`mmresnet.config.prepare_config`): found in the clone or the installed
package, a file that does not parse or options that do not merge named as a ConfigError."""
import pytest

from mmresnet.config import MODES, prepare_config
from mmresnet.resources import merge_cfg_options, read_config
from mmresnet.utils import ConfigError

DEMO = 'configs/demo/faster-rcnn_paper-r18-c4_demo.py'


@pytest.mark.parametrize('mode', MODES)
def test_a_broken_config_is_named_in_every_mode(tmp_path, mode):
    bad = tmp_path / 'broken.py'
    bad.write_text('model = dict(type=\n')
    with pytest.raises(ConfigError, match=f'{bad}: not a readable config'):
        prepare_config(str(bad), mode, str(tmp_path))
    with pytest.raises(FileNotFoundError, match='config file not found: nope.py'):
        prepare_config('nope.py', mode)
    with pytest.raises(ConfigError, match='cannot be merged'):
        prepare_config(DEMO, mode, str(tmp_path),
                       {'train_dataloader.dataset.pipeline.99.type': 'Resize'})


def test_options_that_do_not_merge_are_named():
    cfg = read_config(DEMO)
    with pytest.raises(ConfigError, match=r"--cfg-options .*cannot be merged into .*demo\.py"):
        merge_cfg_options(cfg, {'train_dataloader.dataset.pipeline.99.type': 'Resize'})
    assert merge_cfg_options(cfg, {'train_cfg.max_epochs': 3}).train_cfg.max_epochs == 3
