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
