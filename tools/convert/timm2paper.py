"""timm ResNet weights (plain resnet18..152 .pth state dict) -> PaperResNet checkpoint.

    python tools/convert/timm2paper.py resnet50_a1_in1k.pth paper_resnet50.pth [--form backbone]

timm's plain ResNets share torchvision's names and stride placement; its deep-stem (c/d),
avg-down (d) and SE variants are not the paper's net and are refused with the key that shows
it. Outputs are checked against a reference (mmdet's ResNet + fc) before writing.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.convert.cli import main  # noqa: E402

if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main, source='timm', doc=__doc__)
