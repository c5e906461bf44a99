"""torchvision ResNet weights (resnet18..152 .pth state dict) -> PaperResNet checkpoint.

    python tools/convert/torchvision2paper.py resnet50-0676ba61.pth paper_resnet50.pth
    python tools/convert/torchvision2paper.py resnet50-0676ba61.pth r50_backbone.pth --form backbone

The classifier form (``backbone.*``, ``head.fc.*``) loads into PaperResNetClassifier with
``style='pytorch'`` (torchvision's stride on the 3x3); the backbone form into
``PaperResNet(init_cfg=dict(type='Pretrained', checkpoint=...))``. Before writing, the
converted net's outputs are compared with a reference (mmdet's ResNet + fc) on a random batch.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.convert.cli import main  # noqa: E402

if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main, source='torchvision', doc=__doc__)
