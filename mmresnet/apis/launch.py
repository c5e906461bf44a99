"""The elastic agent of tools/dist_train.sh: torchrun itself, in this process, and one
message when its restarts run out, or when the rendezvous cannot be reached
(tools/elastic_run.py).

torchrun restarts the workers after a failure up to ``--max-restarts``; after the last one
it prints its own failure table (every rank, tracebacks). Here the same run ends with one
more line: the failed rank and node, the cause, and the checkpoint the next start resumes
from (:func:`mmresnet.engine.elastic.restarts_exhausted_message`), and exit status 1.
"""
import os
import shlex
import sys

from ..engine.elastic import restarts_exhausted_message
from .runner import tool_config, training_parser

# The command that started the agent, as the user typed it (tools/dist_train.sh sets it).
LAUNCH_COMMAND_ENV = 'MMRESNET_LAUNCH_COMMAND'


def training_work_dir(train_args):
    """The work dir that ``tools/train.py train_args`` trains in (the config is read once
    here, so that a bad config or flag stops the agent before any rendezvous)."""
    return tool_config(training_parser().parse_args(train_args), 'train').work_dir


def run_elastic(argv):
    """``python -m torch.distributed.run argv`` (the entry point and its arguments last)
    in this process; returns the exit status."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.elastic.rendezvous import RendezvousError
    from torch.distributed.run import parse_args, run
    args = parse_args(argv)
    work_dir = training_work_dir(list(args.training_script_args))
    try:
        run(args)
    except ChildFailedError as error:
        command = os.environ.get(LAUNCH_COMMAND_ENV) or ' '.join(
            shlex.quote(a) for a in [sys.executable] + sys.argv)
        print(restarts_exhausted_message(error, work_dir, args.max_restarts, command),
              file=sys.stderr, flush=True)
        return 1
    except RendezvousError as error:  # no store at the endpoint, port taken, join timeout
        cause = f' ({error.__cause__})' if error.__cause__ else ''
        print(f'[dist_train] the rendezvous at {args.rdzv_endpoint} (RDZV_ENDPOINT; backend '
              f'{args.rdzv_backend}, run id {args.rdzv_id}) failed: {error}{cause}'.rstrip()
              + '. Check that RDZV_ENDPOINT names the first node and a port every node can '
              'reach, that the first node\'s agent runs (it hosts the store), and that no '
              'other program listens on that port.', file=sys.stderr, flush=True)
        return 1
    except SignalException as stop:  # the agent was told to stop (a preemption, Ctrl-C)
        print(f'[dist_train] the elastic agent stopped on signal {stop.sigval.name}',
              file=sys.stderr, flush=True)
        return 1
    return 0
