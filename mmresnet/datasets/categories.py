"""The classes of a COCO file: contiguous labels in category-id order, without the
placeholder categories annotation tools write. One rule for the detector's data
(:mod:`.coco_folder`) and the crops its backbone pretrains on (:mod:`.crops`)."""
from collections import Counter

from mmengine.logging import print_log

#: Category names annotation tools write for what is not a class (labelme's
#: ``_background_`` and ``__ignore__``, Detectron's ``__background__``).
PLACEHOLDER_NAMES = ('_background_', '__background__', '__ignore__', '_ignore_')


def category_labels(categories, box_category_ids, log=True, where=''):
    """Contiguous labels of a COCO file's categories: placeholders and categories with no
    box dropped, the rest in category-id order.

    Args:
        categories (list[dict]): The file's ``categories`` (``id``, ``name``).
        box_category_ids (Iterable[int]): The ``category_id`` of every box.
        log (bool): Log a line per dropped category.
        where (str): The file, for the log lines.

    Returns:
        tuple: (kept categories in label order, {category id: label from 0}).
    """
    used = Counter(box_category_ids)
    kept = []
    for cat in sorted(categories, key=lambda c: c['id']):
        name = cat.get('name')
        if name in PLACEHOLDER_NAMES and not used[cat['id']]:
            why = 'a placeholder name, no box'
        elif name in PLACEHOLDER_NAMES:
            why = f'a placeholder name ({used[cat["id"]]} boxes dropped with it)'
        elif not used[cat['id']]:
            why = 'no box'
        else:
            kept.append(cat)
            continue
        if log:
            print_log(f'{where}: category id {cat["id"]} {name!r} dropped ({why})',
                      logger='current')
    return kept, {c['id']: i for i, c in enumerate(kept)}


__all__ = ['category_labels', 'PLACEHOLDER_NAMES']
