"""The split of a data set with none of its own: every class keeps a training image, is
validated where it can be, and the same files give the same split whatever their order."""
from collections import Counter

import numpy as np
import pytest

from mmresnet.datasets.split import deterministic_split


def _labelled(name, labels):
    return dict(file_name=name, labels=np.array(labels, np.int64),
                ignore=np.zeros(len(labels), bool))


def _classes_in(images):
    """{class: number of the images holding it}."""
    return Counter(c for i in images for c in set(i['labels'].tolist()))


def test_split_keeps_a_training_image_per_class_and_validates_where_it_can():
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(2, 15))
        images = [_labelled(f'{trial}_{i}.jpg', rng.integers(0, 5, rng.integers(0, 4)))
                  for i in range(n)]
        fraction = float(rng.choice([0.1, 0.2, 0.5]))
        train, val = deterministic_split(images, fraction)
        assert len(train) + len(val) == n
        every, tr, va = _classes_in(images), _classes_in(train), _classes_in(val)
        assert all(tr[c] >= 1 for c in every), (trial, every, tr)
        # none validated only where every image holds a class's last training image
        assert val or all(any(tr[k] == 1 for k in set(i['labels'].tolist())) for i in train)
        # a class in two or more images is validated unless each of its images holds
        # another class's last training image
        for c in (c for c in every if every[c] >= 2 and not va[c]):
            assert all(any(tr[k] == 1 for k in set(i['labels'].tolist()) if k != c)
                       or len(val) >= max(round(n * fraction), n // 2, 1)
                       for i in train if c in i['labels']), (trial, c)
        # the validation share: the fraction asked (at least one image), more only to
        # validate each class (never past half), less only where every training image
        # holds a class's last training image
        asked = max(1, round(n * fraction))
        assert len(val) <= max(asked, n // 2), (trial, n, fraction, len(val))
        assert len(val) >= asked or all(
            any(tr[k] == 1 for k in set(i['labels'].tolist())) for i in train), (trial,)
        # deterministic: the order of the images does not matter
        _, val2 = deterministic_split(list(reversed(images)), fraction)
        assert sorted(i['file_name'] for i in val2) == sorted(i['file_name'] for i in val)
    with pytest.raises(ValueError, match='val_fraction must be between 0 and 1'):
        deterministic_split(images, 0)


@pytest.mark.parametrize('fraction', [0.1, 0.2, 0.5])
def test_split_sends_the_fraction_asked_to_validation(fraction):
    images = [_labelled(f'{i}.jpg', [i % 5]) for i in range(100)]
    train, val = deterministic_split(images, fraction)
    assert len(val) == round(100 * fraction) and len(train) == 100 - len(val)
    assert _classes_in(val).keys() == _classes_in(train).keys() == set(range(5))
    assert sorted(i['file_name'] for i in train + val) == sorted(i['file_name'] for i in images)
