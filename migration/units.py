"""Work units: a full run cut into pieces that several workers carry out at the same time.

A unit is one resource of the graph, or the history resources together (they are read as one
merged, date-ordered pass, ``history.py``): it is ready once every resource it depends on is
done. Each unit has its counter line (``cliniko.migration.run.resource``; the history unit:
its first resource's line), which is what a worker claims: ``FOR UPDATE SKIP LOCKED`` picks
the lines nobody is taking at that instant, and the unit's advisory lock (``locks.py``), held
for the worker's batch, keeps the others off it between the batch's commits. A worker holds
the run's lock shared meanwhile; whoever lets go last and finds every unit done marks the run
done (holding it exclusively, so nobody works while it does).

Only this module knows how the graph is cut; the runner works on the unit it is given.
"""

from dataclasses import dataclass

from . import graph


@dataclass(frozen=True)
class Unit:
    leader: str  # the resource whose counter line is claimed, and whose importer runs
    members: tuple  # the resources it migrates (more than one: the history pass)
    depends: frozenset  # resources (outside the unit) done before it may start


def units_of(selected=None):
    """The run's units, in load order."""
    order = graph.load_order(selected)
    names = {resource.name for resource in order}
    history = tuple(resource.name for resource in order if resource.history)
    result = []
    for resource in order:
        if resource.history:
            if resource.name != history[0]:
                continue
            members = history
            depends = {name for member in history for name in graph.get(member).depends}
        else:
            members = (resource.name,)
            depends = set(resource.depends)
        result.append(Unit(resource.name, members, frozenset((depends & names) - set(members))))
    return result


def ready_units(units, done):
    """The units not done whose prerequisites are (``done``: names of the resources done)."""
    return [
        unit for unit in units if not set(unit.members) <= done and unit.depends <= done
    ]


def all_done(units, done):
    return all(set(unit.members) <= done for unit in units)
