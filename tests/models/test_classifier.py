"""PaperResNetClassifier and its mean-subtraction preprocessor: modes, init, errors, and the
three test protocols run through MMEngine's Runner on a tiny ImageNet-style folder."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement

from mmresnet.apis.runner import apply_test_protocol
from mmresnet.models import ClsDataPreprocessor, PaperResNetClassifier

BACKBONE = dict(type='PaperResNet', depth=8, arch='cifar', base_channels=4)


def samples(labels):
    return [BaseDataElement(gt_label=torch.tensor(l)) for l in labels]


def test_modes_loss_predict_tensor():
    torch.manual_seed(0)
    model = PaperResNetClassifier(BACKBONE, num_classes=3)
    x = torch.rand(4, 3, 16, 16)
    out = model(x, samples([0, 1, 2, 1]), mode='loss')
    assert set(out) == {'loss', 'error'} and out['loss'].requires_grad
    assert not out['error'].requires_grad and 0 <= out['error'] <= 100
    logits = model(x)
    assert logits.shape == (4, 3)
    torch.testing.assert_close(out['loss'], torch.nn.functional.cross_entropy(
        logits, torch.tensor([0, 1, 2, 1])))
    preds = model.eval()(x, samples([0, 1, 2, 1]), mode='predict')
    assert torch.allclose(torch.stack([p.pred_score for p in preds]).sum(-1), torch.ones(4))
    assert [int(p.pred_label) for p in preds] == model(x).argmax(-1).tolist()
    with pytest.raises(ValueError, match='tensor, loss, predict'):
        model(x, mode='train')


def test_he_init_no_dropout():
    torch.manual_seed(0)
    model = PaperResNetClassifier(dict(BACKBONE, base_channels=16), num_classes=10)
    model.init_weights()
    w = model.backbone.layer3[0].conv2.weight  # 64 x 64 x 3 x 3, He: std sqrt(2 / fan)
    assert w.std().item() == pytest.approx((2 / (64 * 9))**0.5, rel=0.1)
    assert model.head.fc.weight.std().item() == pytest.approx(0.01, rel=0.2)
    assert not model.head.fc.bias.any()
    assert not any(isinstance(m, torch.nn.Dropout) for m in model.modules())


def test_preprocessor_subtracts_per_channel_mean_of_images_and_views():
    pre = ClsDataPreprocessor(mean=[10.0, 20.0, 30.0])
    img = torch.full((3, 2, 2), 50, dtype=torch.uint8)
    out = pre(dict(inputs=[img, img]))['inputs']
    assert out.shape == (2, 3, 2, 2) and out[:, :, 0, 0].tolist() == [[40, 30, 20]] * 2
    views = pre(dict(inputs=[img.expand(10, 3, 2, 2)]))['inputs']  # one 10-crop sample
    assert views.shape == (1, 10, 3, 2, 2) and views[0, 7, :, 1, 1].tolist() == [40, 30, 20]
    rgb = ClsDataPreprocessor(mean=[10.0, 20.0, 30.0], std=[2.0, 2.0, 2.0], to_rgb=True)
    bgr = torch.tensor([1, 2, 3], dtype=torch.uint8).view(3, 1, 1) * 50
    assert rgb(dict(inputs=[bgr]))['inputs'].flatten().tolist() == [70, 40, 10]


@pytest.mark.parametrize('inputs, words', [
    ([torch.zeros(1, 4, 4)], '1 channels, the preprocessor mean has 3'),
    ([torch.zeros(3, 4, 4), torch.zeros(3, 5, 4)], 'one size'),
])
def test_preprocessor_errors(inputs, words):
    with pytest.raises(ValueError, match=words):
        ClsDataPreprocessor(mean=[0.0, 0.0, 0.0])(dict(inputs=inputs))
    with pytest.raises(ValueError, match='one value per channel'):
        ClsDataPreprocessor(mean=[0.0, 0.0, 0.0], std=[1.0])


@pytest.mark.parametrize('protocol', ['single', 'ten_crop', 'multi_scale'])
def test_protocols_through_runner(tmp_path, protocol):
    """The ImageNet config's test pipelines and --protocol, end to end on 4 images."""
    root = tmp_path / 'val'
    for c, cls in enumerate(('n01', 'n02')):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(root / cls / f'{i}.png'),
                        np.full((260, 300 + 20 * i, 3), 60 + 120 * c, np.uint8))
    cfg = Config.fromfile('configs/resnet/paper-resnet18_b256_imagenet.py')
    cfg.model.backbone.base_channels = 2
    cfg.model.num_classes = 2
    cfg.model.test_cfg.scales = (32, 48, 64)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False, batch_size=2)
    cfg.test_dataloader.dataset.data_root = str(root)
    apply_test_protocol(cfg, protocol)
    runner = Runner(model=cfg.model, work_dir=str(tmp_path / 'work'),
                    test_dataloader=cfg.test_dataloader, test_evaluator=cfg.test_evaluator,
                    test_cfg=dict(type='TestLoop'), default_scope='mmdet')
    seen = []
    predict = runner.model.predict_scores
    runner.model.predict_scores = lambda x: seen.append(tuple(x.shape)) or predict(x)
    metrics = runner.test()
    assert set(metrics) == {'error/top1', 'error/top5'} and metrics['error/top5'] == 0
    if protocol == 'single':
        assert seen == [(2, 3, 224, 224)] * 2
    elif protocol == 'ten_crop':
        assert seen == [(2, 10, 3, 224, 224)] * 2
    else:  # whole images, batch 1, rescaled inside the model
        assert seen == [(1, 3, 260, 300), (1, 3, 260, 320)] * 2
