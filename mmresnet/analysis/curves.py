"""Training and test error against iterations from MMEngine logs (Fig. 4 / Fig. 6 style).

MMEngine's ``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/scalars.json``: one
JSON object per line. Training lines carry ``iter``/``step`` and the logged losses; the
classifier logs its training error as ``error`` (mean over the logger window). Validation
lines carry the metric (``error/top1`` for :class:`~mmresnet.evaluation.TopKError`) and, in
the project's iteration-based configs (``log_metric_by_epoch=False``), the iteration as
``step``. Logs written with LoggerHook's default ``log_metric_by_epoch=True`` carry the
epoch (always 0 in an iteration-based run): such a validation line is placed at the
iteration of the last training line before it, the iteration at which it ran.

Detection runs (``kind='det'``) log the training ``loss`` (the sum of ``loss_rpn_cls``,
``loss_rpn_bbox``, ``loss_cls``, ``loss_bbox``; with ``epoch``/``iter``/``step``) and, per
validation epoch, ``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ... (CocoMetric) or
``pascal_voc/mAP`` (VOCMetric) at ``step`` = the epoch: :func:`read_detection_curves` reads
the loss against iteration and the mAPs against epoch, :func:`plot_detection_curves` plots
them side by side. :func:`log_kind` tells the two kinds of log apart by their keys.
"""
import glob
import json
import os.path as osp

# Key names of the classifier (PaperResNetClassifier.loss) and of TopKError.
DEFAULT_TRAIN_KEY = 'error'
DEFAULT_TEST_KEY = 'error/top1'
# Detection: mmdet's summed training loss; CocoMetric's / VOCMetric's box mAPs (those
# present in a log are read, the first one found is the run's main test curve).
DET_TRAIN_KEY = 'loss'
DET_TEST_KEYS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'pascal_voc/mAP')
KINDS = ('cls', 'det')
# Keys only a detection log has (metric prefixes of mmdet's evaluators, the RPN's losses).
DET_KEY_PREFIXES = ('coco/', 'pascal_voc/', 'loss_rpn', 'loss_bbox')
MAP_NAMES = {'coco/bbox_mAP': 'mAP@[.5:.95]', 'coco/bbox_mAP_50': 'mAP@.5',
             'coco/bbox_mAP_75': 'mAP@.75', 'pascal_voc/mAP': 'VOC mAP@.5',
             'pascal_voc/AP50': 'VOC AP50'}


def find_scalars(work_dir):
    """Path of the newest ``<timestamp>/vis_data/scalars.json`` under ``work_dir``.

    ``work_dir`` may also be the scalars.json file itself.

    Raises:
        FileNotFoundError: no such directory, or no scalars.json in it.
    """
    if osp.isfile(work_dir):
        return work_dir
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir not found: {work_dir}')
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f'no <timestamp>/vis_data/scalars.json in {work_dir}: is it the work dir of a '
            f'run with the LocalVisBackend (configs/_base_/default_runtime.py)?')
    return found[-1]


def read_records(path):
    """The JSON objects of a scalars.json, one per non-empty line.

    Raises:
        ValueError: a line is not JSON (file and line named).
    """
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}, line {lineno}: not JSON ({e})') from None


def walk_records(path, epoch_axis=False):
    """``(record, x, is_train, by_epoch)`` for each record of a scalars.json.

    A training line (it has ``iter``) is at its iteration. A validation line is at its
    ``step`` when that is an iteration, and at the iteration of the last training line
    before it when ``step`` is the epoch of an iteration-based run (always 0); with
    ``epoch_axis`` and an epoch-based run (training lines carry ``epoch``) it stays at its
    ``step``, the epoch. ``by_epoch``: an epoch-based run, as far as the file is read.
    """
    last_iter, by_epoch = 0, False
    for rec in read_records(path):
        if 'iter' in rec:
            last_iter = int(rec['iter'])
            by_epoch = by_epoch or 'epoch' in rec
            yield rec, last_iter, True, by_epoch
        else:
            step = int(rec.get('step') or 0)
            x = step if epoch_axis and by_epoch else max(step, last_iter)
            yield rec, x, False, by_epoch


def read_curves(work_dir, train_key=DEFAULT_TRAIN_KEY, test_key=DEFAULT_TEST_KEY):
    """Training and test curves of one run.

    Args:
        work_dir (str): A run's work dir (its newest timestamp is read) or a scalars.json.
        train_key (str): Key of the training curve. Default: 'error'.
        test_key (str): Key of the test curve. Default: 'error/top1'.

    Returns:
        dict: ``train`` and ``test``, each a list of ``(iteration, value)``.

    Raises:
        ValueError: a line is not JSON (file and line named), or neither key occurs (the
            keys present are named).
    """
    path = find_scalars(work_dir)
    train, test, keys = [], [], set()
    for rec, it, _, _ in walk_records(path):
        keys.update(rec)
        if train_key in rec:
            train.append((it, float(rec[train_key])))
        if test_key in rec:
            test.append((it, float(rec[test_key])))
    if not train and not test:
        raise ValueError(f'{path} has neither {train_key!r} nor {test_key!r}; its keys are '
                         f'{sorted(keys)} (pick them with --train-key / --test-key)')
    return dict(train=train, test=test, path=path)


def summarize(curves):
    """Final and best test value, final training value, of one run's curves (best: the
    lowest error, or the highest mAP of a detection run)."""

    def last(seq):
        return seq[-1][1] if seq else None

    det = curves.get('kind') == 'det'
    # a detection run's validation is at epochs (test_x), not iterations
    at_iters = curves['train'] + (curves['test'] if curves.get('test_x') != 'epoch' else [])
    out = dict(final_test=last(curves['test']),
               best_test=(max if det else min)(v for _, v in curves['test'])
               if curves['test'] else None,
               final_train=last(curves['train']),
               iters=max([i for i, _ in at_iters] or [0]))
    if curves.get('test_x') == 'epoch':
        out['epochs'] = max([i for i, _ in curves['test']] or [0])
    return out


def smooth(points, k):
    """Trailing moving average over ``k`` logged points (``k <= 1``: unchanged).

    MMEngine's LogProcessor logs a non-loss scalar such as the training ``error`` as the
    value of the last batch only (its ``mean_pattern`` averages loss/time keys), so the
    training curve is one batch every logger interval; averaging k points makes it
    readable (k=5 at interval 20: 5 batches spread over 100 iterations).
    """
    if k <= 1:
        return list(points)
    out = []
    for i, (it, _) in enumerate(points):
        window = [v for _, v in points[max(0, i - k + 1):i + 1]]
        out.append((it, sum(window) / len(window)))
    return out


def plot_curves(runs, out, title=None, ylabel='error (%)', ylim=None, smooth_train=1):
    """Fig. 4 / Fig. 6 style plot: thin dashed = training, bold = test, one colour per run.

    Args:
        runs (dict): label -> curves (from :func:`read_curves`), plotted in this order.
        out (str): PNG path.
        title (str, optional): Plot title.
        ylabel (str): Y axis label.
        ylim (tuple, optional): Y limits; default: matplotlib's.
        smooth_train (int): Moving average over this many logged training points
            (:func:`smooth`). Default: 1 (raw).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for i, (label, c) in enumerate(runs.items()):
        color = colors[i % len(colors)]
        if c['train']:
            x, y = zip(*smooth(c['train'], smooth_train))
            ax.plot(x, y, '--', lw=0.8, color=color)
        if c['test']:
            x, y = zip(*c['test'])
            ax.plot(x, y, '-', lw=2.2, color=color, label=label)
        elif c['train']:
            ax.plot([], [], '-', lw=2.2, color=color, label=label)
    ax.set_xlabel('iteration')
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or 'dashed: training, bold: test', fontsize=9)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def format_summary(runs):
    """Markdown table of :func:`summarize` for each run (classification: errors in %;
    detection: training loss and the main validation mAP)."""
    det = any(c.get('kind') == 'det' for c in runs.values())

    def fmt(v):
        return '-' if v is None else f'{v:.3f}' if det else f'{v:.2f}'

    if det:
        first = next(iter(runs.values()))
        train, key = first.get('train_key', DET_TRAIN_KEY), first.get('test_key')
        test = MAP_NAMES.get(key, key or 'mAP')
        lines = [f'| run | iterations | epochs | final train {train} | final {test} | '
                 f'best {test} |', '|---|---|---|---|---|---|']
    else:
        lines = ['| run | iterations | final train error | final test error | '
                 'best test error |', '|---|---|---|---|---|']
    for label, c in runs.items():
        s = summarize(c)
        epochs = f" {s.get('epochs', '-')} |" if det else ''
        lines.append(f"| {label} | {s['iters']} |{epochs} {fmt(s['final_train'])} | "
                     f"{fmt(s['final_test'])} | {fmt(s['best_test'])} |")
    return '\n'.join(lines)


def log_kind(work_dir):
    """'det' for a detection run's log (keys of mmdet's metrics or RPN losses), else 'cls'.

    ``work_dir``: a run's work dir (its newest timestamp) or a scalars.json.
    """
    for rec in read_records(find_scalars(work_dir)):
        if any(k.startswith(DET_KEY_PREFIXES) for k in rec):
            return 'det'
    return 'cls'


def read_detection_curves(work_dir, train_key=DET_TRAIN_KEY, test_keys=None):
    """Training loss against iteration and validation mAPs against epoch, of one
    detection run.

    Validation lines of an epoch-based run (training lines with ``epoch``) carry the epoch
    as ``step``; in an iteration-based run they are placed at their iteration, as in
    :func:`read_curves`.

    Args:
        work_dir (str): A run's work dir (its newest timestamp is read) or a scalars.json.
        train_key (str): Key of the training curve. Default: 'loss' (the summed loss).
        test_keys (str | Sequence[str], optional): Validation keys; default: those of
            :data:`DET_TEST_KEYS` in the log (COCO mAP and mAP@.5, or VOC mAP).

    Returns:
        dict: ``kind='det'``; ``train`` (``(iteration, value)`` list); ``tests`` (key ->
        ``(epoch, value)`` list, the keys found); ``test`` and ``test_key`` (the first of
        them, the run's main curve; ``[]`` and None without validation); ``test_x``
        ('epoch' or 'iteration'); ``train_key``; ``path``.

    Raises:
        ValueError: a line is not JSON, or neither the training key nor a validation key
            occurs (the keys present are named).
    """
    path = find_scalars(work_dir)
    wanted = DET_TEST_KEYS if test_keys is None else (
        (test_keys, ) if isinstance(test_keys, str) else tuple(test_keys))
    train, tests, keys = [], {k: [] for k in wanted}, set()
    by_epoch = False
    for rec, x, is_train, by_epoch in walk_records(path, epoch_axis=True):
        keys.update(rec)
        if is_train:
            if train_key in rec:
                train.append((x, float(rec[train_key])))
            continue
        for k in wanted:
            if k in rec:
                tests[k].append((x, float(rec[k])))
    tests = {k: v for k, v in tests.items() if v}
    if not train and not tests:
        raise ValueError(f'{path} has neither {train_key!r} nor any of {list(wanted)}; its '
                         f'keys are {sorted(keys)} (pick them with --train-key / --test-key'
                         ', or --kind cls for a classification log)')
    main = next(iter(tests), None)
    return dict(kind='det', train=train, tests=tests, test=tests.get(main, []),
                test_key=main, test_x='epoch' if by_epoch else 'iteration',
                train_key=train_key, path=path)


def read_run(work_dir, kind=None, train_key=None, test_key=None):
    """One run's curves, classification (:func:`read_curves`) or detection
    (:func:`read_detection_curves`); ``kind`` None: :func:`log_kind` decides. Keys None:
    the kind's defaults. The result has ``kind``."""
    if kind is None:
        kind = log_kind(work_dir)
    if kind not in KINDS:
        raise ValueError(f'unknown kind {kind!r}; allowed values: {KINDS}')
    if kind == 'det':
        return read_detection_curves(work_dir, train_key or DET_TRAIN_KEY, test_key)
    curves = read_curves(work_dir, train_key or DEFAULT_TRAIN_KEY, test_key or DEFAULT_TEST_KEY)
    curves['kind'] = 'cls'
    return curves


# Line style of each validation curve of a detection plot (the demo's figures: mAP@.5
# solid, mAP@[.5:.95] dashed); other keys take the remaining styles in turn.
_MAP_STYLES = {'coco/bbox_mAP_50': ('o', '-'), 'coco/bbox_mAP': ('s', '--'),
               'pascal_voc/mAP': ('o', '-')}
_MORE_STYLES = [('^', ':'), ('v', '-.'), ('D', '-')]


def plot_detection_curves(runs, out, title=None, ylim=(0, 1), smooth_train=1,
                          loss_log_scale=True):
    """Detection runs side by side: training loss against iteration (left) and validation
    box mAP against epoch (right), one colour per run.

    Args:
        runs (dict): label -> curves (from :func:`read_detection_curves`), in this order.
        out (str): PNG path.
        title (str, optional): Figure title.
        ylim (tuple, optional): Limits of the mAP axis. Default: (0, 1).
        smooth_train (int): Moving average over this many logged loss points
            (:func:`smooth`). Default: 1 (raw).
        loss_log_scale (bool): Loss on a log axis. Default: True.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_map) = plt.subplots(1, 2, figsize=(11, 4))
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    train_keys, test_keys, test_x = set(), set(), set()
    for i, (label, c) in enumerate(runs.items()):
        color = colors[i % len(colors)]
        train_keys.add(c.get('train_key', DET_TRAIN_KEY))
        if c['train']:
            ax_loss.plot(*zip(*smooth(c['train'], smooth_train)), color=color, label=label)
        more = iter(_MORE_STYLES)
        for key, points in c.get('tests', {}).items():
            test_keys.add(key)
            test_x.add(c.get('test_x', 'epoch'))
            marker, ls = _MAP_STYLES.get(key) or next(more, ('.', '-'))
            ax_map.plot(*zip(*points), marker=marker, ls=ls, color=color,
                        label=f'{label}: {MAP_NAMES.get(key, key)}')
    train_key = train_keys.pop() if len(train_keys) == 1 else None
    ax_loss.set(xlabel='iteration',
                ylabel='training loss (sum)' if train_key == DET_TRAIN_KEY else
                f'training {train_key or "loss"}')
    if loss_log_scale and any(v > 0 for c in runs.values() for _, v in c['train']):
        ax_loss.set_yscale('log')
    coco = test_keys and all(k.startswith('coco/') for k in test_keys)
    ax_map.set(xlabel=test_x.pop() if len(test_x) == 1 else 'epoch',
               ylabel='validation box mAP (COCO)' if coco else 'validation box mAP')
    if ylim is not None:
        ax_map.set_ylim(*ylim)
    for ax in (ax_loss, ax_map):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def plot_runs(runs, out, title=None, ylim=None, smooth_train=1):
    """:func:`plot_detection_curves` for detection runs, :func:`plot_curves` (error, Fig. 4
    / 6 style) for classification runs; all runs must be of one kind."""
    kinds = {label: c.get('kind', 'cls') for label, c in runs.items()}
    if len(set(kinds.values())) > 1:
        found = ', '.join(f'{label}: {kind}' for label, kind in kinds.items())
        raise ValueError(f'runs of both kinds ({found}): plot classification and detection '
                         'runs separately')
    if set(kinds.values()) == {'det'}:
        return plot_detection_curves(runs, out, title=title,
                                     ylim=(0, 1) if ylim is None else ylim,
                                     smooth_train=smooth_train)
    return plot_curves(runs, out, title=title, ylim=ylim, smooth_train=smooth_train)
