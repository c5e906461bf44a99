"""Class labels against a classifier's outputs, checked once before training."""


def check_labels(labels, num_classes, where):
    """ValueError naming ``where`` when a label of ``labels`` (a host tensor) is outside
    0..num_classes-1: what cross_entropy reports as a bare IndexError."""
    if not labels.numel():
        return
    low, top = int(labels.min()), int(labels.max())
    if low < 0 or top >= num_classes:
        raise ValueError(
            f'{where}: a training label is {top if top >= num_classes else low}, but '
            f'num_classes is {num_classes} (labels 0..{num_classes - 1}); set '
            "model.num_classes to the data set's number of classes (for "
            'DetectionCropDataset: its categories plus one, background)')


__all__ = ['check_labels']
