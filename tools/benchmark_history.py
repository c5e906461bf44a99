"""What MMEngine's log history costs per iteration as a run grows, stock vs appending.

    python tools/benchmark_history.py --lengths 1000 64000 600000

Every iteration puts 5 values into the message hub (lr, time, data_time, loss, error);
MMEngine's ``HistoryBuffer.update`` is ``np.append`` (a copy of the whole history),
``AppendHistoryBuffer`` (what ``LazyRuntimeInfoHook`` installs) appends in amortised O(1).
Prints ms per iteration (5 updates) after N iterations of history, median of interleaved
rounds.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402
from mmengine.logging import HistoryBuffer  # noqa: E402

from mmresnet.benchmarks.harness import interleaved_medians  # noqa: E402
from mmresnet.engine.runtime_info import AppendHistoryBuffer  # noqa: E402
from mmresnet.utils import check_counts  # noqa: E402


def round_ms(cls, length, keys=5, iters=50):
    """ms per iteration (``keys`` updates) with ``length`` values of history, one round."""
    bufs = [cls(list(np.random.rand(length)), [1] * length) for _ in range(keys)]
    for buf in bufs:  # untimed: the appending buffer's one-off growth (amortised in a run)
        buf.update(0.5)
    start = time.perf_counter()
    for _ in range(iters):
        for buf in bufs:
            buf.update(0.5)
    return (time.perf_counter() - start) / iters * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--lengths', type=int, nargs='+', default=[1000, 64000, 600000],
                        help='iterations of history already in the buffers')
    parser.add_argument('--iters', type=int, default=50, help='updates timed per round')
    parser.add_argument('--repeats', type=int, default=5, help='rounds (median reported)')
    args = parser.parse_args(argv)
    check_counts(lengths=min(args.lengths), iters=args.iters, repeats=args.repeats)
    print('| history (iterations) | HistoryBuffer ms/iteration | AppendHistoryBuffer '
          'ms/iteration | ratio |')
    print('|---|---|---|---|')
    for n in args.lengths:
        ms = interleaved_medians(
            {cls: (lambda cls=cls: round_ms(cls, n, iters=args.iters))
             for cls in (HistoryBuffer, AppendHistoryBuffer)}, args.repeats)
        stock, fast = ms[HistoryBuffer], ms[AppendHistoryBuffer]
        print(f'| {n} | {stock:.3f} | {fast:.3f} | {stock / fast:.1f}x |')


if __name__ == '__main__':
    main()
