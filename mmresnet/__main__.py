"""``python -m mmresnet TOOL [ARGS]``: run ``tools/TOOL.py`` of the clone or of the installed
package (``mmresnet/.mim/tools``), from any folder; configs and the embedded demo data are
found the same way (:mod:`mmresnet.resources`).

    python -m mmresnet train configs/demo/faster-rcnn_paper-r18-c4_demo.py --work-dir W
    python -m mmresnet demo --work-dir work_dirs/demo
    python -m mmresnet list

A relative config path missing from the working folder is the package's own.
"""
import os
import os.path as osp
import runpy
import sys

from mmresnet.resources import resource_root

USAGE = ('usage: python -m mmresnet TOOL [ARGS]\n'
         'runs tools/TOOL.py of the clone or of the installed package (mmresnet/.mim/tools) '
         'from any folder;\nconfigs and the embedded demo data are found the same way.')


def tools(root):
    folder = osp.join(root, 'tools')
    found = []
    for dirpath, _, files in os.walk(folder):
        for name in files:
            if name.endswith('.py') and not name.startswith('_'):
                found.append(osp.relpath(osp.join(dirpath, name), folder)[:-3])
    return sorted(found)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = resource_root()
    if root is None:
        sys.exit('mmresnet: no tools/ folder found beside the package or in mmresnet/.mim '
                 '(a wheel built without them?)')
    known = tools(root)
    if not argv or argv[0] in ('-h', '--help', 'list'):
        print(USAGE + '\n\ntools in ' + osp.join(root, 'tools') + ':\n  '
              + '\n  '.join(known))
        return
    name = argv[0][:-3] if argv[0].endswith('.py') else argv[0]
    if name not in known:
        sys.exit(f'mmresnet: unknown tool {argv[0]!r}; allowed values: {", ".join(known)}')
    script = osp.join(root, 'tools', name + '.py')
    sys.argv = [script] + list(argv[1:])
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()
