"""The worker locks: who is working on a run, and on which of its work units.

A PostgreSQL session-level advisory lock (``WORKER_LOCK_NAMESPACE``, the run's id) is held by
whoever works on a run. PostgreSQL releases it when that connection ends, however it ends
(kill -9 included), so "running, and nobody holds its lock" means the worker died: the run
can be resumed from its committed cursors.

A run is held in one of two ways:

* exclusively (``hold_worker_lock``): one worker does everything, or nobody else may work
  while this one does (starting a run, finishing it, a rollback, the command line's run);
* shared (``hold_shared_worker_lock``): one of several workers, each on a work unit of its
  own (``UNIT_LOCK_NAMESPACE``, the unit's counter line id; see ``units.py``). An exclusive
  holder waits for none of them: it is refused while any works, and they while it does.

Locks belong to a database connection, not to a process: the scheduler's threads in one
process each work through a connection of their own, so a hold is re-entrant only on the
connection that took it.
"""

import threading

WORKER_LOCK_NAMESPACE = 0x436C696E  # "Clin"
UNIT_LOCK_NAMESPACE = 0x556E6974  # "Unit"
_HELD = {}  # (connection, namespace, key) -> depth
_HELD_GUARD = threading.Lock()


def _connection(cr):
    """The database connection behind ``cr`` (a test cursor's: that of the cursor it wraps)."""
    cnx = getattr(cr, "_cnx", None)
    if cnx is None:
        cnx = getattr(getattr(cr, "_cursor", None), "_cnx", None)
    return id(cnx) if cnx is not None else id(cr)


def try_worker_lock(cr, run_id):
    cr.execute("SELECT pg_try_advisory_lock(%s, %s)", (WORKER_LOCK_NAMESPACE, run_id))
    return cr.fetchone()[0]


def release_worker_lock(cr, run_id):
    cr.execute("SELECT pg_advisory_unlock(%s, %s)", (WORKER_LOCK_NAMESPACE, run_id))


def _hold(cr, kind, key):
    """Take one hold of ``kind`` ("run", "shared" or "unit") on ``key`` through ``cr``'s
    connection: re-entrant; False when PostgreSQL refuses it."""
    namespace, take, _give_back = _KINDS[kind]
    slot = (_connection(cr), kind, key)
    with _HELD_GUARD:
        if _HELD.get(slot):
            _HELD[slot] += 1
            return True
    cr.execute("SELECT %s(%%s, %%s)" % take, (namespace, key))
    if not cr.fetchone()[0]:
        return False
    with _HELD_GUARD:
        _HELD[slot] = 1
    return True


def _let_go(cr, kind, key):
    namespace, _take, give_back = _KINDS[kind]
    slot = (_connection(cr), kind, key)
    with _HELD_GUARD:
        _HELD[slot] -= 1
        last = not _HELD[slot]
        if last:
            del _HELD[slot]
    if last:
        cr.execute("SELECT %s(%%s, %%s)" % give_back, (namespace, key))


_KINDS = {
    "run": (WORKER_LOCK_NAMESPACE, "pg_try_advisory_lock", "pg_advisory_unlock"),
    "shared": (WORKER_LOCK_NAMESPACE, "pg_try_advisory_lock_shared", "pg_advisory_unlock_shared"),
    "unit": (UNIT_LOCK_NAMESPACE, "pg_try_advisory_lock", "pg_advisory_unlock"),
}


def hold_worker_lock(cr, run_id):
    """Take the run's worker lock exclusively; False when anyone else holds it (exclusively
    or shared). Re-entrant on one connection: each hold needs its ``let_go_worker_lock``."""
    return _hold(cr, "run", run_id)


def let_go_worker_lock(cr, run_id):
    """Undo one ``hold_worker_lock``; the last one releases the lock."""
    _let_go(cr, "run", run_id)


def hold_shared_worker_lock(cr, run_id):
    """Take the run's worker lock as one of its several workers; False while someone holds it
    exclusively."""
    return _hold(cr, "shared", run_id)


def let_go_shared_worker_lock(cr, run_id):
    _let_go(cr, "shared", run_id)


def hold_unit_lock(cr, line_id):
    """Take a work unit (a run's counter line) for this connection; False when another
    worker has it."""
    return _hold(cr, "unit", line_id)


def let_go_unit_lock(cr, line_id):
    _let_go(cr, "unit", line_id)


def worker_alive(cr, run_id):
    """True when anyone holds the run's worker lock (is working on the run now)."""
    connection = _connection(cr)
    with _HELD_GUARD:
        mine = any(
            slot[0] == connection and slot[1] in ("run", "shared") and slot[2] == run_id
            for slot in _HELD
        )
    if mine:
        return True  # through this very connection
    if try_worker_lock(cr, run_id):
        release_worker_lock(cr, run_id)
        return False
    return True
