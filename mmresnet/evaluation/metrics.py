"""Top-k error (%), the paper's measure (Tables 2-6)."""
import torch
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric

from ..utils import check_int_tuple


def topk_error(scores, labels, k=1):
    """Percentage of samples whose label is not among the ``k`` highest scores (a 0-dim
    tensor; ``k`` is capped at the number of classes)."""
    k = min(k, scores.shape[1])
    hit = (scores.topk(k, dim=1).indices == labels[:, None]).any(dim=1)
    return 100.0 * (1 - hit.float().mean())


@METRICS.register_module()
class TopKError(BaseMetric):
    """Top-1 / top-5 error in percent over the evaluated set.

    Results are logged as ``error/top1``, ``error/top5`` (lower is better).

    Args:
        topk (Sequence[int]): Which k. Default: (1, 5).
    """
    default_prefix = 'error'

    def __init__(self, topk=(1, 5), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = check_int_tuple('TopKError: topk', topk)
        if not self.topk:
            raise ValueError('TopKError: topk must hold at least one k, got ()')

    def process(self, data_batch, data_samples):
        for s in data_samples:
            score = s['pred_score'] if isinstance(s, dict) else s.pred_score
            label = s['gt_label'] if isinstance(s, dict) else s.gt_label
            self.results.append((score.detach().cpu(), int(label)))

    def compute_metrics(self, results):
        scores = torch.stack([r[0] for r in results])
        labels = torch.tensor([r[1] for r in results])
        return {f'top{k}': float(topk_error(scores, labels, k)) for k in self.topk}
