"""The `applications` entries of role descriptors: the names Elasticsearch accepts in them."""

from collections.abc import Mapping

from webapp.security.application_privileges import application_name_problem, privilege_or_action_problem


def application_entry_problems(entry: Mapping[str, object], path: str) -> list[tuple[str, str]]:
    """(field, message) for a role's application entry: the application a name or a trailing-`*` pattern,
    each privilege a name or an action of visible ASCII characters."""
    problems = []
    if (problem := application_name_problem(entry.get("application"), allow_wildcard=True)):
        problems.append((f"{path}.application", problem))
    for privilege in entry.get("privileges") or ():
        if (problem := privilege_or_action_problem(privilege)):
            problems.append((f"{path}.privileges", problem))
    return problems
