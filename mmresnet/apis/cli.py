"""How the command-line tools end on a user's mistake: the message and what to do, no
traceback, exit status 2 (argparse's status for bad input).

    # the last lines of a tool
    if __name__ == '__main__':
        run_tool(main)

A user's mistake is an error of these kinds (:func:`user_errors`): a data or annotation
file that cannot be used (:class:`~mmresnet.datasets.AnnotationError`, its
``DataError``), a file or folder not found, a config or ``--cfg-options`` that does not
read or merge (:class:`~mmresnet.utils.errors.ConfigError`), a command-line value that
cannot be used (:class:`UsageError`: a time budget too small), a checkpoint refused
(weights of another network or recipe, an unsafe or damaged file). Anything else is a
fault of the program and keeps its traceback. ``--debug`` on any tool's command line, or
``MMRESNET_DEBUG=1`` in the environment, shows the traceback of a user's mistake too.
"""
import os
import os.path as osp
import sys

from ..utils.errors import ConfigError, UsageError

DEBUG_FLAG = '--debug'
DEBUG_ENV = 'MMRESNET_DEBUG'
USER_ERROR_EXIT = 2


def add_debug_arg(parser):
    """List ``--debug`` in a tool's help (:func:`run_tool` reads and removes it)."""
    parser.add_argument(DEBUG_FLAG, action='store_true',
                        help=f'show the traceback of a data, config or checkpoint error '
                        f'(or set {DEBUG_ENV}=1)')
    return parser


def user_errors():
    """(exception type, what to do) of the errors that mean bad input, most specific
    first."""
    from ..checkpoint import CheckpointFormatError, UnsafeCheckpointError, WeightsMismatchError
    from ..datasets import AnnotationError
    return (
        (AnnotationError, 'correct the annotation or image files named above (or, where '
         'the tool has it, drop bad boxes and images with --skip-invalid); the layouts read: '
         'docs/demo.md, "Your own data"'),
        (ConfigError, 'correct the config key or the --cfg-options value named above'),
        (UsageError, 'change the command-line value named above'),
        (WeightsMismatchError, 'load a checkpoint trained for this network and recipe, or '
         'set the config to the checkpoint\'s (docs/weights.md)'),
        ((UnsafeCheckpointError, CheckpointFormatError), 'use a checkpoint written by '
         'tools/train.py, tools/export_backbone.py or a converter, or convert the file '
         '(docs/checkpoint_safety.md)'),
        ((FileNotFoundError, NotADirectoryError, IsADirectoryError),
         f'check the path (relative paths are read from {os.getcwd()})'),
    )


def debug_wanted(argv):
    return DEBUG_FLAG in argv or os.environ.get(DEBUG_ENV, '').strip().lower() not in (
        '', '0', 'false', 'no', 'off')


def report_user_error(exc, prog=None, file=None):
    """The lines a tool prints for a user's mistake, or None when ``exc`` is not one."""
    hint = next((h for kinds, h in user_errors() if isinstance(exc, kinds)), None)
    if hint is None:
        return None
    prog = prog or osp.basename(sys.argv[0] or 'mmresnet')
    text = (f'{prog}: error: {exc}\nwhat to do: {hint}\n(the traceback: run again with '
            f'{DEBUG_FLAG}, or with {DEBUG_ENV}=1)')
    print(text, file=file or sys.stderr, flush=True)
    return text


def run_tool(main, *args, **kwargs):
    """Call a tool's ``main`` (``--debug`` taken out of ``sys.argv``); a user's mistake
    ends the process with its message and exit status 2, without a traceback, unless
    debugging is asked for. A process group the run started (``--launcher``) is destroyed
    before the process exits, however it ends (:func:`destroy_process_group`)."""
    debug = debug_wanted(sys.argv[1:])
    sys.argv[1:] = [a for a in sys.argv[1:] if a != DEBUG_FLAG]
    if os.environ.get('TORCHELASTIC_ERROR_FILE'):  # a torchrun worker: the exception goes
        from torch.distributed.elastic.multiprocessing.errors import record  # into torchrun's
        main = record(main)  # failure report (tools/dist_train.sh's elastic message)
    try:
        return main(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001  (sorted below: a mistake, or re-raised)
        if debug or report_user_error(exc) is None:
            raise
        sys.exit(USER_ERROR_EXIT)
    finally:
        destroy_process_group()


def destroy_process_group():
    """Destroy the default process group where one was started, as PyTorch asks of every
    distributed program before it exits: left to the interpreter's shutdown, gloo's worker
    threads can still hold tensors and the process aborts now and then ("terminate called
    without an active exception", exit -6) after a run that finished."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


__all__ = ['run_tool', 'destroy_process_group', 'UsageError', 'add_debug_arg', 'report_user_error', 'user_errors',
           'debug_wanted', 'USER_ERROR_EXIT', 'DEBUG_ENV']
