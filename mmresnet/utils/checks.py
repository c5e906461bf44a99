"""Argument checks shared by every module, in one wording: each raises a ``ValueError``
naming the argument (prefixed with its owner, e.g. ``'PaperResNet: depth'``), the value and
what is allowed. A bool is never a count, nor a choice among numbers."""


def is_int(value):
    """An int, and not a bool (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _int_wanted(minimum, maximum):
    if maximum is not None:
        return f'an int in [{minimum}, {maximum}]'
    return 'a positive int' if minimum == 1 else f'an int >= {minimum}'


def check_int(name, value, minimum=1, maximum=None):
    """``value`` if it is an int >= ``minimum`` (and <= ``maximum`` where given; a bool is
    not an int here)."""
    if not is_int(value) or value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f'{name} must be {_int_wanted(minimum, maximum)}, got {value!r}')
    return value


def check_optional_int(name, value, minimum=1, maximum=None):
    """``value`` if it is None or passes :func:`check_int`."""
    return None if value is None else check_int(name, value, minimum, maximum)


def check_int_tuple(name, value, minimum=1):
    """``tuple(value)`` if ``value`` is a list or tuple of ints >= ``minimum``."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f'{name} must be a tuple of ints, got {value!r}')
    for v in value:
        if not is_int(v) or v < minimum:
            raise ValueError(f'{name} must hold ints >= {minimum}, got {value!r}')
    return tuple(value)


def _is_allowed(value, allowed):
    if isinstance(value, bool) and not any(isinstance(a, bool) for a in allowed):
        return False  # True == 1: not a choice among numbers
    try:
        return value in allowed
    except TypeError:  # unhashable, against a set or dict
        return False


def check_choice(name, value, allowed):
    """``value`` if it is one of ``allowed``. ``name`` may carry its owner
    (``'PaperResNet: style'``): 'PaperResNet: unknown style ...'."""
    if not _is_allowed(value, allowed):
        owner, _, key = name.rpartition(': ')
        raise ValueError(f'{owner + ": " if owner else ""}unknown {key} {value!r}; allowed '
                         f'values: {tuple(allowed)}')
    return value


def check_choices(name, values, allowed):
    """``values`` if each is one of ``allowed``; else names the first that is not."""
    for v in values:
        check_choice(name, v, allowed)
    return values


def check_counts(minimum=1, **counts):
    """Raise naming the first of ``counts`` that is not an int >= ``minimum``."""
    for key, val in counts.items():
        check_int(key, val, minimum)
