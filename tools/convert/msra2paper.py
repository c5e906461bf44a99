"""MSRA ResNet-50/101/152 weights (Detectron .pkl, the paper's own release) -> PaperResNet.

    python tools/convert/msra2paper.py R-50.pkl paper_r50_caffe.pth
    python tools/convert/msra2paper.py R-101.pkl paper_r101_cls.pth --form classifier

The backbone form (default) loads into ``PaperResNet(depth, style='caffe',
init_cfg=dict(type='Pretrained', checkpoint=...))``; the classifier form (``backbone.*``,
``head.fc.*``, needs the file's ``pred_*`` / ``fc1000_*`` blobs) into a caffe-style
PaperResNet + PoolFcHead. The folded BN (scale ``_s``, bias ``_b``) becomes BN layers with
running mean 0 and variance 1 - eps. The nets expect BGR 0..255 inputs minus the mean
(103.53, 116.28, 123.675): ``meta['recipe']`` of the checkpoint records it. The pickle is
read with a restricted unpickler (numpy arrays only; nothing in it can run), and before
writing the converted net's outputs are compared with a functional re-implementation of
Detectron's ResNet computed from the blobs (``--no-check`` skips it).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.convert.msra import main as convert_main  # noqa: E402


def main(argv=None):
    """``SRC DST [--form backbone|classifier] [--no-check]``; returns the conversion's meta."""
    return convert_main(argv, doc=__doc__)


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
