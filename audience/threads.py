"""One BLAS thread for the audience's small fits, set without scanning the process's libraries at each fit."""

from __future__ import annotations

from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries loaded once scipy is imported (numpy's and scipy's OpenBLAS), found once: finding them
    (``threadpool_limits``) took 6 ms a call, limiting the ones found 0.05 ms."""
    return ThreadpoolController().select(user_api="blas")


def one_blas_thread():
    """A context in which BLAS runs on one thread. L-BFGS-B's steps on BG/NBD's 4 parameters call BLAS; with
    OpenBLAS's two threads each step took 2.6 ms of CPU instead of 0.02 ms, most of a 400-customer shop's fit (68 ms
    of CPU against 9 ms on one thread), and far more wall time on a busy machine. The numbers are the same: on
    vectors this short OpenBLAS does not split the work."""
    return _blas().limit(limits=1)
