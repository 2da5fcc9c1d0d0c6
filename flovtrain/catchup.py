"""Catch up: bring the backend to the state at the start of chapter NN.

Runs ``solutions/MM_*.ipynb`` for every chapter MM < NN, in order, headless (nbclient, kernel
``python3``, working directory ``solutions/``). The kernels inherit this process's environment,
so they reach the same sandbox (or, with the explicit opt-in, the same AWS account: the guard in
``flovtrain.connect()`` runs inside each notebook). A chapter whose check already passes
(``flovtrain check MM``: done by an earlier catch-up or by the learner's own hands) is skipped and
said so, so catching up twice runs nothing the second time and never redoes a learner's work.

Examples
--------
>>> import flovtrain
>>> flovtrain.catch_up("04")          # doctest: +SKIP
catch-up: 100%|██████████| 3/3 [00:21<00:00, 03_billing.ipynb]
['solutions/01_account.ipynb', 'solutions/02_iam.ipynb', 'solutions/03_billing.ipynb']
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import boto3
import nbformat

from flovtrain.exceptions import CatchUpFailed

NOTEBOOK_NAME = re.compile(r"^(\d{2})_.+\.ipynb$")
CELL_TIMEOUT = 120  # seconds per cell
KERNEL = "python3"
KERNEL_LOG = "catchup-kernels.log"  # in FLOVTRAIN_HOME


def _numbered(folder: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        match = NOTEBOOK_NAME.match(path.name)
        if match:
            found.setdefault(match.group(1), path)
    return found


def chapters(root: Path | None = None) -> list[str]:
    """Return the ids of chapters one can catch up to (those with a notebook or solution)."""
    from flovtrain.exercises import project_root

    root = root or project_root()
    return sorted(set(_numbered(root / "notebooks")) | set(_numbered(root / "solutions")))


def plan(chapter: str | int, root: Path | str | None = None) -> list[Path]:
    """Return the solution notebooks :func:`catch_up` would run for ``chapter``, in order.

    Raises
    ------
    UnknownChapter
        ``chapter`` is not a number, or no notebook or solution exists for it.
    """
    from flovtrain.checks import chapter_among
    from flovtrain.exercises import project_root

    root = Path(root) if root is not None else project_root()
    number = chapter_among(
        chapter, chapters(root), "there is no chapter {chapter} to catch up to", "chapters"
    )
    solutions = _numbered(root / "solutions")
    return [solutions[n] for n in sorted(solutions) if n < number]


def _kernel_env(session: boto3.Session | None) -> dict[str, str]:
    env = dict(os.environ)
    if session is not None:  # hand the caller's credentials and region to the kernels
        creds = session.get_credentials()
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            env.update(AWS_ACCESS_KEY_ID=frozen.access_key, AWS_SECRET_ACCESS_KEY=frozen.secret_key)
            if frozen.token:
                env["AWS_SESSION_TOKEN"] = frozen.token
            else:
                env.pop("AWS_SESSION_TOKEN", None)
            env.pop("AWS_PROFILE", None)
        if session.region_name:
            env.update(AWS_DEFAULT_REGION=session.region_name, AWS_REGION=session.region_name)
    return env


def _already_done(path: Path, session: boto3.Session | None) -> bool:
    """True when chapter ``path``'s check exists and passes on the current backend."""
    from flovtrain.checks import chapters as checked_chapters
    from flovtrain.checks import check

    number = NOTEBOOK_NAME.match(path.name).group(1)
    if number not in checked_chapters():
        return False
    try:
        return check(number, session).passed
    except Exception:  # a check that cannot even run means: not done, run the solution
        return False


def _progress(total: int, enabled: bool):
    if os.environ.get("FLOVTRAIN_STATIC_WIDGETS") == "1":
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(total=total, desc="catch-up", unit="notebook", disable=not enabled)


def run_notebook(
    path: Path, env: dict[str, str] | None = None, timeout: int = CELL_TIMEOUT
) -> nbformat.NotebookNode:
    """Execute one notebook headless in its own folder and return it executed.

    Raises
    ------
    CatchUpFailed
        A cell raised, timed out or the kernel died: names the notebook, cell and error.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from flovtrain import config

    nb = nbformat.read(path, as_version=4)
    log_path = config.home() / KERNEL_LOG
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=KERNEL, resources={"metadata": {"path": str(path.parent)}}
    )
    index, cell = -1, None
    try:
        # the kernel's own chatter (e.g. ipykernel's transport warning) goes to a log, not the user
        with (
            open(log_path, "ab") as log,
            client.setup_kernel(
                env=env if env is not None else dict(os.environ), stdout=log, stderr=log
            ),
        ):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        if isinstance(exc, CellExecutionError):
            error = f"{exc.ename}: {exc.evalue}"
        elif isinstance(exc, CellTimeoutError):
            error = f"the cell ran longer than {timeout} s"
        else:
            error = f"the kernel died: {exc} (its output is in {log_path})"
        first = (cell.source.strip().splitlines() or [""])[0] if cell is not None else ""
        raise CatchUpFailed(
            f"catch-up stopped in {path.parent.name}/{path.name}, cell {index} "
            f"({first[:80]!r}): {error}. Open that notebook, fix or run it by hand, then run "
            "the catch-up again: the notebooks before it are already done and safe to re-run."
        ) from None
    return nb


def catch_up(
    chapter: str | int,
    session: boto3.Session | None = None,
    *,
    root: Path | str | None = None,
    timeout: int = CELL_TIMEOUT,
    progress: bool = True,
    redo: bool = False,
) -> list[str]:
    """Run every earlier chapter's solution so chapter ``chapter`` can start.

    Parameters
    ----------
    chapter : str or int
        The chapter you want to start: ``4``, ``"4"`` or ``"04"`` runs solutions 00-03.
    session : boto3.Session, optional
        Whose credentials and region the notebooks' kernels get (default: this process's
        environment, i.e. the sandbox unless you opted in to AWS).
    root : path, optional
        The project folder (default: found from the current directory).
    timeout : int
        Seconds each cell may take.
    progress : bool
        Show a progress bar (one step per notebook).
    redo : bool
        Run every solution even when its chapter's check already passes.

    Returns
    -------
    list of str
        The notebooks run, as ``solutions/NN_name.ipynb`` (not those skipped because their
        chapter's check already passes; each skip is announced on standard error).

    Raises
    ------
    UnknownChapter
        No such chapter (the message lists the valid ones).
    CatchUpFailed
        A notebook failed: names it, the cell and the error.

    Examples
    --------
    >>> import flovtrain
    >>> flovtrain.catch_up(3)             # doctest: +SKIP
    ['solutions/01_account.ipynb', 'solutions/02_iam.ipynb']
    """
    notebooks = plan(chapter, root)
    env = _kernel_env(session)
    done = []
    with _progress(len(notebooks), progress) as bar:
        for path in notebooks:
            bar.set_postfix_str(path.name, refresh=True)
            if not redo and _already_done(path, session):
                number = NOTEBOOK_NAME.match(path.name).group(1)
                bar.write(
                    f"{path.parent.name}/{path.name}: skipped, check {number} already passes",
                    file=sys.stderr,
                )
            else:
                run_notebook(path, env=env, timeout=timeout)
                done.append(f"{path.parent.name}/{path.name}")
            bar.update(1)
    return done
