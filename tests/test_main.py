"""``python -m mmresnet list``: the usage in whole lines, then every tool."""
import subprocess
import sys


def test_list_prints_whole_lines_and_the_tools():
    out = subprocess.run([sys.executable, '-m', 'mmresnet', 'list'], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == 'usage: python -m mmresnet TOOL [ARGS]'
    # the sentence is printed to its end, not cut at the first line of a docstring
    assert lines[1].startswith('runs tools/TOOL.py') and lines[1].endswith(';')
    assert lines[2].endswith('found the same way.')
    tools = [line.strip() for line in lines[lines.index('') + 2:]]
    assert {'train', 'test', 'infer', 'demo'} <= set(tools), tools
