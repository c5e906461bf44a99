"""Training and test error against iterations from MMEngine logs (Fig. 4 / Fig. 6 style).

MMEngine's ``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/scalars.json``: one
JSON object per line. Training lines carry ``iter``/``step`` and the logged losses; the
classifier logs its training error as ``error`` (mean over the logger window). Validation
lines carry the metric (``error/top1`` for :class:`~mmresnet.evaluation.TopKError`) and, in
the project's iteration-based configs (``log_metric_by_epoch=False``), the iteration as
``step``. Logs written with LoggerHook's default ``log_metric_by_epoch=True`` carry the
epoch (always 0 in an iteration-based run): such a validation line is placed at the
iteration of the last training line before it, the iteration at which it ran.
"""
import glob
import json
import os.path as osp

# Key names of the classifier (PaperResNetClassifier.loss) and of TopKError.
DEFAULT_TRAIN_KEY = 'error'
DEFAULT_TEST_KEY = 'error/top1'


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
    last_iter = 0
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}, line {lineno}: not JSON ({e})') from None
            keys.update(rec)
            if 'iter' in rec:  # a training line
                last_iter = int(rec['iter'])
            it = int(rec['iter']) if 'iter' in rec else int(max(rec.get('step') or 0, last_iter))
            if train_key in rec:
                train.append((it, float(rec[train_key])))
            if test_key in rec:
                test.append((it, float(rec[test_key])))
    if not train and not test:
        raise ValueError(f'{path} has neither {train_key!r} nor {test_key!r}; its keys are '
                         f'{sorted(keys)} (pick them with --train-key / --test-key)')
    return dict(train=train, test=test, path=path)


def summarize(curves):
    """Final and best test value, final training value, of one run's curves."""

    def last(seq):
        return seq[-1][1] if seq else None

    return dict(final_test=last(curves['test']),
                best_test=min(v for _, v in curves['test']) if curves['test'] else None,
                final_train=last(curves['train']),
                iters=max([i for i, _ in curves['train'] + curves['test']] or [0]))


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
    """Markdown table of :func:`summarize` for each run."""

    def fmt(v):
        return '-' if v is None else f'{v:.2f}'

    lines = ['| run | iterations | final train error | final test error | best test error |',
             '|---|---|---|---|---|']
    for label, c in runs.items():
        s = summarize(c)
        lines.append(f"| {label} | {s['iters']} | {fmt(s['final_train'])} | "
                     f"{fmt(s['final_test'])} | {fmt(s['best_test'])} |")
    return '\n'.join(lines)
