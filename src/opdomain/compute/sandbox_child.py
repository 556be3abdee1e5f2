"""The launcher that runs *inside* the job sandbox, before the analyst's script (rules R4.4a, R5.1a).

It is copied into the sandbox as ``/opt/opdomain/launch.py`` and run by the sandboxed interpreter, so it
uses the standard library only and never imports ``opdomain``. It closes inherited descriptors, puts the
project's site-packages (mounted read-only) ahead of the base interpreter's, and runs ``/job/script.py``
as ``__main__``. A script that runs out of memory exits with :data:`MEMORY_EXIT`, one that writes past
the file-size limit with :data:`FILE_SIZE_EXIT`, so the host can tell these from ordinary failures.

It enforces nothing: the limits and the filesystem view are set up outside, before this file runs. A
hostile script could fake these exit codes, which only mislabels its own failure.

Usage: ``python -B launch.py [--site DIR]... -- SCRIPT``
"""

from __future__ import annotations

import errno
import os
import site
import sys
import traceback
import types

MEMORY_EXIT = 251
"""Exit code of a script that died of ``MemoryError`` (or a library's out-of-memory exception)."""
FILE_SIZE_EXIT = 252
"""Exit code of a script that died writing past the file-size limit (Python ignores SIGXFSZ, so the
write fails with EFBIG instead of killing the process)."""

_OOM_NAMES = ("OutOfMemoryException", "OutOfMemoryError", "ArrowMemoryError", "_ArrayMemoryError")


def _parse(argv: list[str]) -> tuple[list[str], str]:
    sites: list[str] = []
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--site" and i + 1 < len(argv):
            sites.append(argv[i + 1])
            i += 2
        else:
            raise SystemExit(f"launch.py: unexpected argument {argv[i]!r}")
    if i + 1 >= len(argv):
        raise SystemExit("launch.py: no script given")
    return sites, argv[i + 1]


def _is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or any(c.__name__ in _OOM_NAMES for c in type(exc).__mro__)


def main(argv: list[str]) -> None:
    sites, script = _parse(argv)
    # descriptors bwrap was handed (argument and data pipes) are not the script's business
    os.closerange(3, 65536)
    if sites:
        # behave like the venv: its packages, not the base interpreter's, and the venv's first
        base = set(site.getsitepackages())
        sys.path[:] = [p for p in sys.path if p not in base]
        for directory in sites:
            site.addsitedir(directory)
    sys.path[0] = os.path.dirname(script)
    sys.argv = [script]
    # a real __main__ module, so pickling functions defined in the script works
    main_module = types.ModuleType("__main__")
    main_module.__file__ = script
    main_module.__builtins__ = __builtins__  # type: ignore[attr-defined]
    sys.modules["__main__"] = main_module
    with open(script, "rb") as handle:
        code = compile(handle.read(), script, "exec")
    try:
        exec(code, main_module.__dict__)  # noqa: S102 - running the analyst's script is the point
    except SystemExit:
        raise
    except BaseException as exc:
        if _is_out_of_memory(exc):
            exit_code = MEMORY_EXIT
        elif isinstance(exc, OSError) and exc.errno == errno.EFBIG:
            exit_code = FILE_SIZE_EXIT
        else:
            raise
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exit_code)


if __name__ == "__main__":
    main(sys.argv[1:])
