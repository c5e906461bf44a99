"""tools/infer.py: a small detector checkpoint on an embedded photograph writes a drawn
image and a predictions json, through the safe checkpoint loader."""
import json
import os
import os.path as osp

import pytest
import torch

from .tool_loader import load_tool

pytestmark = pytest.mark.e2e  # runs tools or training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py')
IMAGES = osp.join(ROOT, 'data/demo_detection/JPEGImages')
IMAGE = osp.join(IMAGES, 'OSBS_029.jpg')
# 128 px instead of the tiles' 400: the tool, not the detector, is under test
SMALL = ['test_dataloader.dataset.pipeline.1.scale=(128,128)']
CLASSES = ('tree', )


class Payload:
    """Unpickled by a plain torch.load, it would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The demo detector, randomly initialised, saved as tools/train.py saves it."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmresnet  # noqa: F401
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(CONFIG).model)
    model.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'detector.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': CLASSES, 'palette': [(0, 200, 0)]}}},
               path)
    return str(path)


def test_infer_writes_drawn_image_and_predictions(checkpoint, tmp_path, capsys):
    out = tmp_path / 'out'
    written = load_tool('infer').main([CONFIG, checkpoint, IMAGE, '--out-dir', str(out), '--device',
                            'cpu', '--score-thr', '0.0', '--cfg-options', *SMALL])
    vis, pred = out / 'vis' / 'OSBS_029.jpg', out / 'preds' / 'OSBS_029.json'
    assert written['vis'] == [str(vis)] and written['preds'] == [str(pred)]
    assert vis.read_bytes()[:2] == b'\xff\xd8'  # a JPEG, at the image's own size
    import mmcv
    assert mmcv.imread(str(vis)).shape == (400, 400, 3)
    boxes = json.loads(pred.read_text())
    assert set(boxes) == {'labels', 'label_names', 'scores', 'bboxes'}
    assert set(boxes['label_names']) <= {'tree'} and len(boxes['label_names']) == len(boxes['labels'])
    assert len(boxes['labels']) == len(boxes['scores']) == len(boxes['bboxes'])
    assert all(lb == 0 for lb in boxes['labels'])  # the checkpoint's one class
    text = capsys.readouterr().out
    assert str(vis) in text and str(pred) in text and 'wrote 1 drawn images' in text


def test_image_folder_and_errors_name_the_path(checkpoint, tmp_path):
    from mmresnet.apis.inference import collect_images
    images = collect_images([IMAGES])
    assert len(images) == 38 and images == sorted(images) and IMAGE in images
    main = load_tool('infer').main
    with pytest.raises(FileNotFoundError, match='config file not found: .*nope.py'):
        main([str(tmp_path / 'nope.py'), checkpoint, IMAGE])
    with pytest.raises(FileNotFoundError, match='checkpoint file not found: .*nope.pth'):
        main([CONFIG, str(tmp_path / 'nope.pth'), IMAGE, '--out-dir', str(tmp_path)])
    with pytest.raises(FileNotFoundError, match='image file or folder not found: .*nope.jpg'):
        main([CONFIG, checkpoint, IMAGE, str(tmp_path / 'nope.jpg')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no images .* in folder .*empty'):
        main([CONFIG, checkpoint, str(tmp_path / 'empty')])


def test_checkpoint_loads_through_the_safe_loader(checkpoint, tmp_path):
    """DetInferencer loads through MMEngine's CheckpointLoader, where the project's
    restricted unpickler refuses a pickle that would run code (and never runs it)."""
    from mmresnet.checkpoint import UnsafeCheckpointError
    marker = tmp_path / 'PWNED'
    state = torch.load(checkpoint, weights_only=True)
    state['meta']['note'] = Payload(marker)
    unsafe = tmp_path / 'unsafe.pth'
    torch.save(state, unsafe)
    with pytest.raises(UnsafeCheckpointError, match='refused to load checkpoint'):
        load_tool('infer').main([CONFIG, str(unsafe), IMAGE, '--out-dir', str(tmp_path / 'out'),
                      '--device', 'cpu', '--cfg-options', *SMALL])
    assert not marker.exists() and not (tmp_path / 'out').exists()


def test_classification_config_is_refused(checkpoint):
    cls_config = osp.join(ROOT, 'configs/cifar/paper-resnet20_b128-64k_cifar10.py')
    with pytest.raises(ValueError, match='is no detector'):
        load_tool('infer').main([cls_config, checkpoint, IMAGE])
