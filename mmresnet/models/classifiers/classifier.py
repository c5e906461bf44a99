"""PaperResNet image classifier: backbone + global average pool + fc + softmax CE.

Section 3.4 (ImageNet) and 4.2 (CIFAR): no dropout, He init (the backbone's), softmax
cross-entropy. Test protocols (Section 3.4): single view, 10-crop (views averaged) and
fully-convolutional multi-scale (fc applied as a 1x1 conv, scores averaged over scales).
"""
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from ...evaluation.metrics import topk_error
from ...utils import TEST_PROTOCOLS, check_choice
from ..utils.labels import check_labels
from .head import PoolFcHead


@MODELS.register_module()
class PaperResNetClassifier(BaseModel):
    """Image classifier of He et al. 2015.

    The one backbone + global average pool + fc composition of the project: the
    converters' and benchmarks' nets are this class around a built backbone, and
    ``model(x)`` (mode 'tensor') gives the logits. State dict keys: ``backbone.*``,
    ``head.fc.*``.

    Args:
        backbone (dict | nn.Module): A ``PaperResNet`` config, or a built backbone with a
            ``feat_dim`` attribute (its last output feeds the head).
        num_classes (int): 1000 (ImageNet), 10 (CIFAR-10, Fashion-MNIST).
        data_preprocessor (dict): e.g. ``dict(type='ClsDataPreprocessor', mean=[...])``.
        test_cfg (dict, optional): ``protocol`` in ('single', 'ten_crop', 'multi_scale')
            and, for 'multi_scale', ``scales`` (short sides). Default: single view.
        init_cfg (dict, optional): Initialisation config. Default: the fc drawn from
            N(0, 0.01), bias 0 (the backbone's convs get He init from its own init_cfg).
    """

    def __init__(self, backbone, num_classes, data_preprocessor=None, test_cfg=None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor', mean=[0.0, 0.0, 0.0])
        if isinstance(data_preprocessor, dict):  # MMDetection's registry, whatever the scope
            data_preprocessor = MODELS.build(data_preprocessor)
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Linear', std=0.01, bias=0)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = (backbone if isinstance(backbone, torch.nn.Module)
                         else MODELS.build(backbone))
        self.head = PoolFcHead(self.backbone.feat_dim, num_classes)
        self.num_classes = num_classes
        self._labels_checked = False
        self.test_cfg = dict(protocol='single', scales=(224, 256, 384, 480, 640))
        self.test_cfg.update(test_cfg or {})
        check_choice('test protocol', self.test_cfg['protocol'], TEST_PROTOCOLS)

    def extract_feat(self, inputs):
        return self.backbone(inputs)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f'invalid mode {mode!r}; allowed values: tensor, loss, predict')

    def _labels(self, data_samples, device):
        if isinstance(data_samples, torch.Tensor):  # a (B,) label batch (device data: its
            return data_samples.long().to(device)  # loop checks the labels before training)
        labels = torch.stack([torch.as_tensor(s.gt_label).reshape(()) for s in data_samples
                              ]).long()
        if not self._labels_checked:  # once, on the host: before the bare IndexError
            self._labels_checked = True
            check_labels(labels, self.num_classes, type(self).__name__)
        return labels.to(device)

    def loss(self, inputs, data_samples):
        logits = self.head(self.extract_feat(inputs))
        labels = self._labels(data_samples, logits.device)
        # 'error' (no 'loss' in the key) is logged, not optimised: the training error
        # curves of Fig. 4 / Fig. 6.
        return dict(loss=F.cross_entropy(logits, labels),
                    error=topk_error(logits.detach(), labels).detach())

    def dense_scores(self, inputs):
        """Fully-convolutional scores: the fc as a 1x1 conv over the last feature map,
        class scores averaged over positions (Section 3.4, following [41, 13])."""
        feat = self.extract_feat(inputs)[-1]
        fc = self.head.fc
        score_map = F.conv2d(feat, fc.weight[:, :, None, None], fc.bias)
        return score_map.mean(dim=(2, 3))

    def predict_scores(self, inputs):
        """Softmax scores under the configured test protocol."""
        protocol = self.test_cfg['protocol']
        if protocol == 'ten_crop' or inputs.dim() == 5:
            if inputs.dim() != 5:
                raise ValueError('ten_crop needs (N, V, C, H, W) inputs: add TenCrop to the '
                                 'test pipeline')
            n, v = inputs.shape[:2]
            logits = self.head(self.extract_feat(inputs.flatten(0, 1)))
            return logits.softmax(-1).view(n, v, -1).mean(1)
        if protocol == 'multi_scale':
            scores = 0
            h, w = inputs.shape[-2:]
            for s in self.test_cfg['scales']:
                size = (s, round(w * s / h)) if h <= w else (round(h * s / w), s)
                x = F.interpolate(inputs, size=size, mode='bilinear', align_corners=False)
                scores = scores + self.dense_scores(x).softmax(-1)
            return scores / len(self.test_cfg['scales'])
        return self.head(self.extract_feat(inputs)).softmax(-1)

    def predict(self, inputs, data_samples=None):
        scores = self.predict_scores(inputs)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(scores.shape[0])]
        for sample, score in zip(data_samples, scores):
            sample.pred_score = score
            sample.pred_label = score.argmax()
        return data_samples
