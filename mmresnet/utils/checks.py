"""Argument checks shared by every module: each raises a ``ValueError`` naming the argument
(prefixed with its owner, e.g. ``'PaperResNet: depth'``), the value and what is allowed."""


def is_int(value):
    """An int, and not a bool (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(name, value, minimum=1):
    """``value`` if it is an int >= ``minimum`` (a bool is not an int here)."""
    if not is_int(value) or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')
    return value


def check_int_tuple(name, value, minimum=1):
    """``tuple(value)`` if ``value`` is a list or tuple of ints >= ``minimum``."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f'{name} must be a tuple of ints, got {value!r}')
    for v in value:
        if not is_int(v) or v < minimum:
            raise ValueError(f'{name} must hold ints >= {minimum}, got {value!r}')
    return tuple(value)


def check_choice(name, value, allowed):
    """``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f'unknown {name} {value!r}; allowed values: {tuple(allowed)}')
    return value


def check_choices(name, values, allowed):
    """``values`` if each is one of ``allowed``; else names the first that is not."""
    for v in values:
        check_choice(name, v, allowed)
    return values


def check_counts(minimum=1, **counts):
    """Raise naming the first of ``counts`` that is not an int >= ``minimum``."""
    for key, val in counts.items():
        if not is_int(val) or val < minimum:
            what = 'a positive int' if minimum == 1 else f'an int >= {minimum}'
            raise ValueError(f'{key} must be {what}, got {val!r}')
