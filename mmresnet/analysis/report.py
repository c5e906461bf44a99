"""One page per run: ``WORK_DIR/report.html``, what ``tools/demo.py`` chose and got.

    from mmresnet.analysis.report import write_report
    write_report('work_dirs/demo', summary)      # summary.json's dict

The page is one HTML file with its style inline and no script or font from elsewhere; its
images are files in WORK_DIR, linked by relative paths (an image outside WORK_DIR is copied
into ``WORK_DIR/report_files/``), so the folder can be moved or archived whole. It shows
the results, the data and its split, the sizes and the schedule chosen and why, the
training curves, the per-class table, the per-class precision-recall curves, the
confusion matrix and a gallery of the validation images (ground truth beside the
predictions, as the test drew them). A small inline script counts the images the browser
loaded and writes the count on the page (``data-images-loaded`` / ``data-images-total`` on
``<body>``).
"""
import html
import os
import os.path as osp
import shutil
import time
from urllib.parse import quote

# The drawn predictions a browser shows (a .tif or .ppm input is drawn as the same format,
# which browsers do not display: left out of the gallery).
BROWSER_IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
GALLERY_MAX = 48

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 0 18px 40px; color: #1c2330; }
h1 { font-size: 22px; margin: 22px 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px;
     border-bottom: 1px solid #d7dce3; padding-bottom: 3px; }
.sub { color: #5a6472; margin: 0 0 12px; }
.big { display: flex; gap: 14px; flex-wrap: wrap; margin: 12px 0; }
.big div { background: #f2f5f9; border-radius: 6px; padding: 8px 14px; }
.big b { display: block; font-size: 22px; }
table { border-collapse: collapse; margin: 6px 0 10px; }
td, th { border: 1px solid #d7dce3; padding: 3px 9px; text-align: right; }
th { background: #f2f5f9; } td:first-child, th:first-child { text-align: left; }
.warn { background: #fff4d6; border: 1px solid #e8c260; border-radius: 6px;
        padding: 8px 12px; margin: 10px 0; }
.muted { color: #5a6472; } code { background: #f2f5f9; padding: 0 3px; }
img.plot { max-width: 100%; border: 1px solid #d7dce3; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr));
           gap: 12px; }
.gallery figure { margin: 0; } .gallery img { width: 100%; border: 1px solid #d7dce3; }
.gallery figcaption { font-size: 12px; color: #5a6472; word-break: break-all; }
#image-status { font-size: 12px; color: #5a6472; }
"""

SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.images, ok = 0, bad = [];
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; }
    else { bad.push(imgs[i].getAttribute('src')); }
  }
  document.body.setAttribute('data-images-total', String(imgs.length));
  document.body.setAttribute('data-images-loaded', String(ok));
  document.getElementById('image-status').textContent = ok + ' of ' + imgs.length +
    ' images loaded' + (bad.length ? '; not loaded: ' + bad.join(', ') : '');
});
"""


def _e(text):
    return html.escape(str(text), quote=True)


def _fmt(v, digits=3):
    if v is None:
        return '-'
    if isinstance(v, bool):
        return 'yes' if v else 'no'
    if isinstance(v, float):
        return f'{v:.{digits}f}'
    return _e(v)


class _Images:
    """Relative links to images in WORK_DIR (others copied into report_files/)."""

    def __init__(self, work_dir):
        self.work_dir = osp.abspath(work_dir)

    def src(self, path):
        path = osp.abspath(path)
        rel = osp.relpath(path, self.work_dir)
        if rel.startswith('..'):
            dst = osp.join(self.work_dir, 'report_files', osp.basename(path))
            os.makedirs(osp.dirname(dst), exist_ok=True)
            shutil.copy(path, dst)
            rel = osp.relpath(dst, self.work_dir)
        return quote(rel.replace(os.sep, '/'))

    def img(self, path, alt, cls='plot'):
        if not path or not osp.isfile(path):
            return f'<p class="muted">({_e(alt)}: not written in this run)</p>'
        return f'<img class="{cls}" src="{self.src(path)}" alt="{_e(alt)}">'


def _table(header, rows):
    out = ['<table><tr>' + ''.join(f'<th>{_e(h)}</th>' for h in header) + '</tr>']
    out += ['<tr>' + ''.join(f'<td>{c}</td>' for c in row) + '</tr>' for row in rows]
    return '\n'.join(out + ['</table>'])


def _results(summary):
    views = 'the image and its flips' if summary.get('tta') else 'single view'
    cells = [('box mAP@[.5:.95]', _fmt(summary.get('bbox_mAP'))),
             ('mAP@.5', _fmt(summary.get('bbox_mAP_50')))]
    total = sum(s['seconds'] for s in summary.get('stages', []))
    cells.append(('time', f'{total / 60:.1f} min'))
    out = ['<div class="big">' + ''.join(f'<div>{_e(k)}<b>{v}</b></div>' for k, v in cells)
           + '</div>', f'<p>On the validation images, pretrained detector, {_e(views)}.']
    single = summary.get('single_view') or {}
    if summary.get('tta') and single:
        out.append(f' Single view (the last validation, same weights): mAP '
                   f'{_fmt(single.get("bbox_mAP"))}, mAP@.5 {_fmt(single.get("bbox_mAP_50"))}.')
    scratch = summary.get('from_scratch')
    if scratch:
        out.append(f' From scratch in the same time budget ({scratch["iterations"]} '
                   f'iterations): mAP {_fmt(scratch["bbox_mAP"])}, mAP@.5 '
                   f'{_fmt(scratch["bbox_mAP_50"])}.')
    out.append('</p>')
    stages = summary.get('stages', [])
    if stages:
        out.append(_table(['stage', 'seconds'], [(_e(s['name']), f'{s["seconds"]:.0f}')
                                                 for s in stages]))
    return '\n'.join(out)


def _data(info):
    out = [f'<p><code>{_e(info.get("root", ""))}</code> ({_e(info.get("layout", ""))})'
           f'<br>split: {_e(info.get("split", ""))}</p>']
    if info.get('val_is_train'):
        out.append('<p class="warn"><b>Validated on the training images</b> '
                   '(--train-on-all): every figure on this page says how well the detector '
                   'fits the images it trained on, not how it does on new ones.</p>')
    if info.get('unvalidated'):
        out.append(f'<p class="warn">Unvalidated: {_e(", ".join(info["unvalidated"]))} '
                   '(found in the training images only; they train, their results are not '
                   'measured).</p>')
    counts = info.get('counts', {})
    classes = list(counts.get('train', {}).get('per_class', {}))
    if classes:
        rows = [(_e(c), ) + tuple(str(counts[s]['per_class'].get(c, 0))
                                  for s in ('train', 'val')) for c in classes]
        rows.append(('<b>images</b>', str(counts['train']['images']),
                     str(counts['val']['images'])))
        out.append(_table(['class (boxes)', 'train', 'val'], rows))
    notes = [n for n in info.get('notes', [])
             if not n.startswith(('split:', 'unvalidated'))]  # said above
    if notes:
        out.append('<ul>' + ''.join(f'<li>{_e(n)}</li>' for n in notes) + '</ul>')
    return '\n'.join(out)


PLAN_ROWS = (('pretrain_iters', 'pretraining iterations'), ('pretrain_batch', 'crops per '
             'pretraining batch'), ('det_iters', 'detector iterations'),
             ('det_epochs', 'detector epochs'), ('det_batch', 'images per detector batch'),
             ('validations', 'validations'), ('val_interval', 'validation every'),
             ('budget_s', 'budget (s)'), ('expected_s', 'expected (s)'),
             ('cut_by_budget', 'shortened to the budget'))


def _plan(info):
    out = []
    sizing = info.get('sizing', {})
    if sizing.get('why'):
        out.append('<p>Sizes chosen for the boxes (<code>mmresnet.planning.sizing</code>):'
                   '</p><ul>' + ''.join(f'<li>{_e(w)}</li>' for w in sizing['why'])
                   + '</ul>')
    plan = info.get('plan', {})
    for note in plan.get('speed_notes', []):  # the speed while training was not the probe's
        out.append(f'<p class="note"><b>Budget:</b> {_e(note)}</p>')
    rows = [(_e(label), _fmt(plan[key], 1) + (' iterations' if key == 'val_interval' else ''))
            for key, label in PLAN_ROWS if key in plan]
    speed = info.get('speed', {})
    rows += [(_e(label), _fmt(speed[key], 3)) for key, label in (
        ('pretrain_s', 's per pretraining iteration (measured)'),
        ('det_s', 's per detector iteration (measured)'),
        ('infer_s', 's per test image (measured)')) if key in speed]
    if rows:
        out.append(_table(['schedule', ''], rows))
    return '\n'.join(out)


def _per_class(summary):
    per = summary.get('per_class') or {}
    if not per:
        return '<p class="muted">(no per-class results in this run)</p>'
    train = summary.get('data', {}).get('counts', {}).get('train', {}).get('per_class', {})
    rows = [(_e(name), _fmt(r['AP']), _fmt(r['AP50']), _fmt(r['AR']), str(r['boxes']),
             str(train.get(name, '-')),
             'unvalidated' if r['AP'] is None else '') for name, r in per.items()]
    header = ['class', 'AP', 'AP50', 'AR@100', 'val boxes', 'train boxes', 'note']
    if not any(row[-1] for row in rows):  # the note column only where a class is unvalidated
        header, rows = header[:-1], [row[:-1] for row in rows]
    return (_table(header, rows)
            + '<p class="muted">COCO box AP over IoU .5:.95, AP at IoU .5 and recall at 100 '
            'detections per image, per class, on the validation images (pycocotools; their '
            'mean is the mAP above).</p>')


def _gallery(images, folder, limit):
    if not folder or not osp.isdir(folder):
        return '<p class="muted">(no drawn predictions in this run)</p>'
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(BROWSER_IMAGE_EXTENSIONS))
    out = ['<p>Each image: the ground truth (left) beside the predictions (right), as the '
           f'final test drew them ({len(files)} validation images'
           + (f', the first {limit} shown' if len(files) > limit else '') + ').</p>',
           '<div class="gallery">']
    for f in files[:limit]:
        out.append(f'<figure>{images.img(osp.join(folder, f), f, cls="")}'
                   f'<figcaption>{_e(f)}</figcaption></figure>')
    return '\n'.join(out + ['</div>'])


def write_report(work_dir, summary, out=None, gallery_max=GALLERY_MAX):
    """Write ``WORK_DIR/report.html`` from a run's summary (tools/demo.py's
    ``summary.json``); returns its path."""
    out = out or osp.join(work_dir, 'report.html')
    images = _Images(work_dir)
    info = summary.get('data', {})
    classes = summary.get('classes', [])
    sections = [
        ('results', 'Results', _results(summary)),
        ('data', 'Data and split', _data(info)),
        ('plan', 'Sizes and schedule', _plan(info)),
        ('curves', 'Training curves', images.img(summary.get('curves'), 'training curves')),
        ('per-class', 'Per class', _per_class(summary)),
        ('pr', 'Precision-recall per class',
         images.img(summary.get('pr_curves'), 'precision-recall curves')),
        ('confusion', 'Confusion matrix',
         images.img(summary.get('confusion_matrix'), 'confusion matrix')
         + '<p class="muted">Rows: ground truth, columns: predictions scored at least the '
         'threshold, matched at IoU 0.5 (mmdet\'s confusion-matrix counting); the '
         'background row holds predictions matching no box, the background column boxes '
         'no prediction found.</p>'),
        ('gallery', 'Validation images', _gallery(images, summary.get('predictions'),
                                                  gallery_max)),
    ]
    body = '\n'.join(f'<h2 id="{sid}">{_e(title)}</h2>\n{content}'
                     for sid, title, content in sections)
    files = ', '.join(f'<code>{_e(osp.basename(str(summary[k])))}</code>' for k in (
        'detector_checkpoint', 'backbone_checkpoint') if summary.get(k))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mmresnet run: {_e(', '.join(classes[:4]))}</title>
<style>{STYLE}</style></head>
<body>
<h1>PaperResNet detector: {_e(', '.join(classes[:6]) + (' ...' if len(classes) > 6 else ''))}
</h1>
<p class="sub">{_e(osp.abspath(work_dir))} &middot; written {time.strftime('%Y-%m-%d %H:%M')}
&middot; <span id="image-status">images not counted (scripts off)</span></p>
{body}
<h2 id="files">Files</h2>
<p><code>summary.json</code> (every number on this page), <code>plan.json</code> (the plan),
checkpoints {files or '-'}; configs: {', '.join(f'<code>{_e(c)}</code>' for c in
    [summary.get('pretrain_config'), summary.get('config')] if c)}</p>
<script>{SCRIPT}</script>
</body></html>
"""
    with open(out, 'w', encoding='utf-8') as f:
        f.write(page)
    return out


__all__ = ['write_report']
