"""plot_curves on a log written here (MMEngine's scalars.json layout)."""
import json
import runpy
from pathlib import Path

import pytest

from mmresnet.analysis import find_scalars, format_summary, read_curves, summarize
from mmresnet.analysis.curves import smooth

ROOT = Path(__file__).resolve().parents[2]



def write_log(work_dir, train_every=20, val_every=100, iters=300, ts='20260101_000000'):
    """What MMEngine writes for an iteration-based run: training lines with ``iter``,
    validation lines at ``step`` 0 (LoggerHook's log_metric_by_epoch)."""
    vis = work_dir / ts / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for it in range(train_every, iters + 1, train_every):
        lines.append(dict(lr=0.1, loss=2.0 / it, error=100.0 / it, iter=it, step=it))
        if it % val_every == 0:
            lines.append({'error/top1': 50.0 / it, 'error/top5': 1.0, 'step': 0})
    (vis / 'scalars.json').write_text(''.join(json.dumps(x) + '\n' for x in lines))
    return vis / 'scalars.json'


def test_read_curves_places_val_at_its_iteration(tmp_path):
    write_log(tmp_path / 'old', ts='20250101_000000')
    path = write_log(tmp_path / 'run', iters=300)
    c = read_curves(str(tmp_path / 'run'))
    assert c['path'] == str(path)
    assert [i for i, _ in c['test']] == [100, 200, 300]
    assert c['test'][1] == (200, 0.25)
    assert len(c['train']) == 15 and c['train'][0] == (20, 5.0)
    s = summarize(c)
    assert s == dict(final_test=50 / 300, best_test=50 / 300, final_train=100 / 300, iters=300)
    assert '| run |' in format_summary({'run': c})


def test_newest_timestamp_is_read(tmp_path):
    write_log(tmp_path, ts='20250101_000000', iters=100)
    write_log(tmp_path, ts='20260101_000000', iters=200)
    assert '20260101_000000' in find_scalars(str(tmp_path))


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='work dir not found'):
        read_curves(str(tmp_path / 'missing'))
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        read_curves(str(tmp_path))
    path = write_log(tmp_path / 'run')
    with pytest.raises(ValueError, match="keys are .*'error/top1'"):
        read_curves(str(tmp_path / 'run'), train_key='acc', test_key='accuracy/top1')
    path.write_text(path.read_text() + '{broken\n')
    with pytest.raises(ValueError, match=r'line 19: not JSON'):
        read_curves(str(path))


def test_tool_writes_png_and_summary(tmp_path, capsys):
    write_log(tmp_path / 'plain', iters=200)
    write_log(tmp_path / 'res', iters=300)
    out, table = tmp_path / 'curves.png', tmp_path / 'table.md'
    main = runpy.run_path(str(ROOT / 'tools/analysis/plot_curves.py'))['main']
    main([str(tmp_path / 'plain'), str(tmp_path / 'res'), '--labels', 'plain-8',
               'ResNet-8', '--out', str(out), '--summary', str(table), '--smooth', '3'])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and out.stat().st_size > 5000
    text = table.read_text()
    assert '| plain-8 | 200 |' in text and '| ResNet-8 | 300 |' in text
    with pytest.raises(SystemExit):
        main([str(tmp_path / 'res'), '--labels', 'a', 'b', '--out', str(out)])
    assert '--labels has 2 entries for 1 work dirs' in capsys.readouterr().err


def test_smooth_is_a_trailing_mean():
    pts = [(20, 9.0), (40, 3.0), (60, 6.0), (80, 0.0)]
    assert smooth(pts, 1) == pts
    assert smooth(pts, 2) == [(20, 9.0), (40, 6.0), (60, 4.5), (80, 3.0)]


def write_det_log(work_dir, epochs=4, iters_per_epoch=7, every=5, val_every=2,
                  ts='20260101_000000', voc=False):
    """What MMEngine writes for mmdet's epoch-based detection run: training lines with
    ``epoch``/``iter``/``step`` and the losses, validation lines at ``step`` = the epoch."""
    vis = work_dir / ts / 'vis_data'
    vis.mkdir(parents=True)
    lines, it = [], 0
    for ep in range(1, epochs + 1):
        for _ in range(iters_per_epoch):
            it += 1
            if it % every == 0:
                lines.append(dict(lr=0.02, loss=4.0 / it, loss_rpn_cls=1.0 / it,
                                  loss_rpn_bbox=1.0 / it, loss_cls=1.0 / it,
                                  loss_bbox=1.0 / it, epoch=ep, iter=it, step=it))
        if ep % val_every == 0:
            lines.append({'pascal_voc/mAP': 0.1 * ep, 'pascal_voc/AP50': 0.1 * ep,
                          'step': ep} if voc else
                         {'coco/bbox_mAP': 0.1 * ep, 'coco/bbox_mAP_50': 0.2 * ep,
                          'coco/bbox_mAP_75': 0.05 * ep, 'step': ep})
    (vis / 'scalars.json').write_text(''.join(json.dumps(x) + '\n' for x in lines))
    return vis / 'scalars.json'


def test_detection_log_reads_loss_by_iteration_and_map_by_epoch(tmp_path):
    from mmresnet.analysis import log_kind, read_detection_curves, read_run
    write_det_log(tmp_path / 'det')
    write_log(tmp_path / 'cls')
    assert log_kind(str(tmp_path / 'det')) == 'det' and log_kind(str(tmp_path / 'cls')) == 'cls'
    c = read_run(str(tmp_path / 'det'))
    assert c['kind'] == 'det' and c['test_x'] == 'epoch' and c['train_key'] == 'loss'
    assert [i for i, _ in c['train']] == [5, 10, 15, 20, 25] and c['train'][0] == (5, 0.8)
    assert list(c['tests']) == ['coco/bbox_mAP', 'coco/bbox_mAP_50']
    assert c['test_key'] == 'coco/bbox_mAP'
    assert c['test'] == [(2, pytest.approx(0.2)), (4, pytest.approx(0.4))]
    assert c['tests']['coco/bbox_mAP_50'] == [(2, pytest.approx(0.4)), (4, pytest.approx(0.8))]
    s = summarize(c)  # the best mAP is the highest; validation is at epochs, not iterations
    assert s['best_test'] == pytest.approx(0.4) and s['iters'] == 25 and s['epochs'] == 4
    one = read_detection_curves(str(tmp_path / 'det'), 'loss_cls', 'coco/bbox_mAP_50')
    assert list(one['tests']) == ['coco/bbox_mAP_50'] and one['train'][0] == (5, 0.2)
    voc = read_run(str(write_det_log(tmp_path / 'voc', voc=True)))
    assert voc['kind'] == 'det' and voc['test_key'] == 'pascal_voc/mAP'
    as_det = read_run(str(tmp_path / 'cls'), kind='det')  # told: its loss, no mAP
    assert as_det['tests'] == {} and as_det['test'] == [] and len(as_det['train']) == 15
    with pytest.raises(ValueError, match="keys are .*'error/top1'.*--kind cls"):
        read_run(str(tmp_path / 'cls'), kind='det', train_key='loss_bbox')


def test_tool_plots_detection_runs(tmp_path, capsys):
    write_det_log(tmp_path / 'pretrained')
    write_det_log(tmp_path / 'scratch', epochs=6)
    out, table = tmp_path / 'det.png', tmp_path / 'det.md'
    main = runpy.run_path(str(ROOT / 'tools/analysis/plot_curves.py'))['main']
    main([str(tmp_path / 'pretrained'), str(tmp_path / 'scratch'), '--out', str(out),
          '--summary', str(table)])  # detected from the keys
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and out.stat().st_size > 5000
    text = table.read_text()
    assert 'final train loss' in text and 'best mAP@[.5:.95]' in text
    assert '| pretrained | 25 | 4 | 0.160 | 0.400 | 0.400 |' in text
    assert '| scratch | 40 | 6 | 0.100 | 0.600 | 0.600 |' in text
    main([str(tmp_path / 'scratch'), '--kind', 'det', '--out', str(out)])
    write_log(tmp_path / 'cls')
    with pytest.raises(SystemExit):
        main([str(tmp_path / 'scratch'), str(tmp_path / 'cls'), '--out', str(out)])
    assert 'is a det log but' in capsys.readouterr().err


def test_detection_axes_are_labelled_loss_and_map(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmresnet.analysis import plot_detection_curves, plot_runs, read_run
    saved = []
    monkeypatch.setattr(plt.Figure, 'savefig', lambda fig, *a, **k: saved.append(fig))
    det = {'run': read_run(str(write_det_log(tmp_path / 'det')))}
    plot_detection_curves(det, str(tmp_path / 'det.png'))
    ax_loss, ax_map = saved[-1].axes
    assert (ax_loss.get_xlabel(), ax_loss.get_ylabel()) == ('iteration', 'training loss (sum)')
    assert (ax_map.get_xlabel(), ax_map.get_ylabel()) == ('epoch', 'validation box mAP (COCO)')
    assert ax_loss.get_yscale() == 'log' and ax_map.get_ylim() == (0, 1)
    labels = ax_map.get_legend_handles_labels()[1]
    assert labels == ['run: mAP@[.5:.95]', 'run: mAP@.5']
    cls = {'cls': read_run(str(write_log(tmp_path / 'cls')))}
    plot_runs(cls, str(tmp_path / 'cls.png'))
    assert saved[-1].axes[0].get_ylabel() == 'error (%)'
    with pytest.raises(ValueError, match='runs of both kinds'):
        plot_runs({**det, **cls}, str(tmp_path / 'x.png'))
