"""The worker lock: which process is working on a run, if any.

A PostgreSQL session-level advisory lock (``WORKER_LOCK_NAMESPACE``, the run's id) is held by
the process working on a run. PostgreSQL releases it when that process's connection ends,
however it ends (kill -9 included), so "running, and nobody holds its lock" means the worker
died: the run can be resumed from its committed cursors.
"""

WORKER_LOCK_NAMESPACE = 0x436C696E  # "Clin"
_HELD_WORKER_LOCKS = {}  # run id -> depth, in this process


def try_worker_lock(cr, run_id):
    cr.execute("SELECT pg_try_advisory_lock(%s, %s)", (WORKER_LOCK_NAMESPACE, run_id))
    return cr.fetchone()[0]


def release_worker_lock(cr, run_id):
    cr.execute("SELECT pg_advisory_unlock(%s, %s)", (WORKER_LOCK_NAMESPACE, run_id))


def hold_worker_lock(cr, run_id):
    """Take the run's worker lock for this process; False when another process holds it.
    Re-entrant within one process: each hold needs its ``let_go_worker_lock``."""
    if _HELD_WORKER_LOCKS.get(run_id):
        _HELD_WORKER_LOCKS[run_id] += 1
        return True
    if not try_worker_lock(cr, run_id):
        return False
    _HELD_WORKER_LOCKS[run_id] = 1
    return True


def let_go_worker_lock(cr, run_id):
    """Undo one ``hold_worker_lock``; the last one releases the lock."""
    _HELD_WORKER_LOCKS[run_id] -= 1
    if not _HELD_WORKER_LOCKS[run_id]:
        del _HELD_WORKER_LOCKS[run_id]
        release_worker_lock(cr, run_id)


def worker_alive(cr, run_id):
    """True when a process holds the run's worker lock (it is working on the run now)."""
    if _HELD_WORKER_LOCKS.get(run_id):
        return True  # this very process
    if try_worker_lock(cr, run_id):
        release_worker_lock(cr, run_id)
        return False
    return True
