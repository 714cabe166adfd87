"""The Cliniko resources the migration reads, and what each one needs loaded first.

This graph is the single source of the order of work: the load order is a topological sort
of it, the rollback order is that sort reversed, and the run's progress lines follow it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    """One Cliniko resource: its API name, a label for people and its prerequisites."""

    name: str
    label: str
    depends: tuple = ()
    # Extra q[] filters the full read sends, e.g. to include archived rows.
    list_filters: tuple = ()


GRAPH = (Resource("patients", "Patients", list_filters=("archived_at:*",)),)

_BY_NAME = {resource.name: resource for resource in GRAPH}


def get(name):
    return _BY_NAME[name]


def names():
    return [resource.name for resource in GRAPH]


def load_order(selected=None):
    """Resources in dependency order (prerequisites first), stable by declaration order.

    ``selected`` limits the result to these names plus everything they depend on.
    """
    wanted = set(_closure(selected)) if selected else set(_BY_NAME)
    ordered, done = [], set()

    def visit(resource, path=()):
        if resource.name in done:
            return
        if resource.name in path:
            raise ValueError("dependency cycle: %s" % " -> ".join(path + (resource.name,)))
        for dependency in resource.depends:
            visit(_BY_NAME[dependency], path + (resource.name,))
        done.add(resource.name)
        if resource.name in wanted:
            ordered.append(resource)

    for resource in GRAPH:
        visit(resource)
    return ordered


def rollback_order(selected=None):
    return list(reversed(load_order(selected)))


def _closure(selected):
    pending, seen = list(selected), []
    while pending:
        name = pending.pop()
        if name not in _BY_NAME:
            raise KeyError("unknown Cliniko resource: %s" % name)
        if name not in seen:
            seen.append(name)
            pending.extend(_BY_NAME[name].depends)
    return seen
