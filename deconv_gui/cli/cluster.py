"""Work on many images: serially by default, or on a dask.distributed cluster.

``--workers N`` starts a local cluster of ``N`` single-threaded worker processes for the
command; ``--scheduler ADDRESS`` sends the work to a cluster that is already running
(``dask scheduler`` and ``dask worker ADDRESS`` on other machines). Results come back in
the order of the inputs whoever computed them, so a run on a cluster gives exactly the
serial run's output; a failing input is reported by name and the others finish.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .options import UsageError

__all__ = ["Outcome", "add_cluster_options", "input_error", "map_in_order"]

#: ``(index, result, error)``: ``error`` is a one-line message when the item failed.
Outcome = tuple[int, Any, str | None]


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``--workers`` and ``--scheduler`` (mutually exclusive; serial without either)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="run on a local dask cluster of N worker processes (needs the 'cluster' extra)",
    )
    group.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a running dask cluster, e.g. tcp://10.0.0.5:8786 (needs the 'cluster' extra)",
    )


@contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--workers/--scheduler need dask.distributed: pip install 'deconv-gui[cluster]'"
        ) from None
    if workers is not None:
        if not 1 <= workers <= 256:
            raise UsageError(f"--workers must be between 1 and 256, got {workers}")
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    try:
        yield client
    finally:
        client.close()


def map_in_order(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    reraise: bool = False,
) -> list[Outcome]:
    """``func`` on every item, in input order; exceptions become one-line errors.

    ``on_done`` is called as each item finishes (in completion order), for a progress
    bar; the returned list is in input order. ``reraise`` (serial runs only) lets an
    exception through, for ``--debug``'s traceback.
    """
    outcomes: list[Outcome] = []
    if workers is None and scheduler is None:
        for index, item in enumerate(items):
            outcome = (index, func(item), None) if reraise else _attempt(func, index, item)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
        return outcomes
    with _client(workers, scheduler) as client:  # says which extra to install when dask is missing
        from dask.distributed import as_completed

        futures = [
            client.submit(_attempt, func, i, item, pure=False) for i, item in enumerate(items)
        ]
        for future in as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    return sorted(outcomes, key=lambda o: o[0])


def _attempt(func: Callable[[Any], Any], index: int, item: Any) -> Outcome:
    from .options import one_line

    try:
        return index, func(item), None
    except Exception as exc:  # reported by name; the other items go on
        name = "" if isinstance(exc, (ValueError, UsageError)) else f"{type(exc).__name__}: "
        return index, None, name + one_line(exc)


def input_error(spec: str, error: str) -> str:
    """The error line of a failed input, naming it once: ``error`` after the input's name
    (``spec``, as typed), unless ``error`` names it already (``could not read x.png: …``);
    an ``error`` that starts with the file's name (``x.npy: image contains NaN``) has
    that name replaced by ``spec``, not repeated after it.

    Examples
    --------
    >>> input_error("/data/x.npy", "x.npy: image contains NaN or inf")
    '/data/x.npy: image contains NaN or inf'
    >>> input_error("/data/x.png", "could not read x.png: not a PNG")
    'could not read x.png: not a PNG'
    >>> input_error("/data/x.png", "bias: values up to 1e+308 overflow")
    '/data/x.png: bias: values up to 1e+308 overflow'
    """
    name = spec.replace("\\", "/").rsplit("/", 1)[-1]
    for lead in (spec, name):
        if lead and error.startswith(f"{lead}: "):
            return f"{spec}: {error[len(lead) + 2 :]}"
    for named in (spec, name):
        if named and re.search(rf"(?<![\w.-]){re.escape(named)}(?![\w.-])", error):
            return error
    return f"{spec}: {error}"
