"""Headless Chromium for the report tests (Debian's ``chromium``, installed by
tools/setup_env.sh): the DOM after the page's scripts ran, and screenshots."""
import os.path as osp
import re
import shutil
import subprocess
import tempfile

import pytest

FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run',
         '--virtual-time-budget=10000')


def have_chromium():
    """The browser's path, or None."""
    return next((shutil.which(n) for n in ('chromium', 'chromium-browser', 'google-chrome')
                 if shutil.which(n)), None)


def chromium():
    """The browser's path, or a pytest skip saying why there is none."""
    found = have_chromium()
    if found is None:
        pytest.skip('no chromium: tools/setup_env.sh installs it where apt-get and root '
                    '(or sudo) are available')
    return found


def _run(args, timeout=120):
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([chromium(), *FLAGS, f'--user-data-dir={profile}', *args],
                              capture_output=True, text=True, timeout=timeout)
    return proc


def dump_dom(page):
    """The page's DOM after load (its scripts run) as text."""
    proc = _run(['--dump-dom', f'file://{osp.abspath(page)}'])
    assert proc.returncode == 0 and '<body' in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def image_counts(dom):
    """(loaded, total) as the report's script wrote them on <body>."""
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    total = re.search(r'data-images-total="(\d+)"', dom)
    assert loaded and total, 'the page script did not run'
    return int(loaded.group(1)), int(total.group(1))


def screenshot(page, png, size='1200,2400'):
    proc = _run([f'--screenshot={osp.abspath(png)}', f'--window-size={size}',
                 '--hide-scrollbars', f'file://{osp.abspath(page)}'])
    assert proc.returncode == 0 and osp.isfile(png), proc.stderr[-2000:]
    return png
