"""The job sandbox (作业沙箱): a Python action runs on real data inside the domain and nowhere else.

Rules 四.(四) R4.4a (raw data never leaves the domain), R4.4c (computation inside the domain only under
control) and 五 R5.1a (a job reaches only its grant's data): the script runs in its own processes with
no network (a fresh network namespace), sees a private filesystem holding only the grant's materialised
data (``/in``, read-only), its own output folder (``/out``), itself (``/job/script.py``) and a read-only
interpreter, runs as an unprivileged user with CPU-time, memory, process, file-size, open-file and
wall-clock limits, and cannot reach the records database, the keys, other grants' data or the host.

How (docs/sandbox.md): as root, an outer bubblewrap builds the view and the namespaces (pid, net, ipc,
uts, cgroup), drops to a fresh per-job host uid (``setpriv``), sets the limits (``prlimit``) and starts
an inner, unprivileged bubblewrap that adds a user namespace in which the job is uid 65534 and may
create no further namespaces. Without bubblewrap the sandbox refuses; it never runs a script unsandboxed.
"""

# ruff: noqa: S108 - /tmp and /dev/shm below are the sandbox's own private tmpfs mounts, not the host's

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import site
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

from opdomain.compute.sandbox_child import FILE_SIZE_EXIT, MEMORY_EXIT
from opdomain.errors import DomainError, InvalidInput, Message

# -- messages -----------------------------------------------------------------------------------
SANDBOX_UNAVAILABLE = Message(
    "作业沙箱不可用（{reason}），拒绝运行脚本：脚本绝不在沙箱外运行",
    "the job sandbox is unavailable ({reason}); the script is refused: it never runs unsandboxed",
)
OUTPUT_DIR_NOT_EMPTY = Message("作业输出目录 {path} 不为空", "the job's output folder {path} is not empty")
BAD_PATH = Message("{what} {path} 不存在或不是普通目录/文件", "{what} {path} is missing or not a plain folder/file")
BAD_ENV = Message("环境变量 {name} 无效", "environment variable {name} is not valid")
BAD_LIMIT = Message("沙箱限额 {name} 必须为正整数", "sandbox limit {name} must be a positive integer")

# -- layout and constants -----------------------------------------------------------------------
SANDBOX_UID = 65534
"""The job's uid and gid *inside* the sandbox (nobody/nogroup)."""
JOB_UID_BASE = 1_600_000_000
JOB_UID_SPAN = 1 << 24
"""Host uids for jobs: a fresh one per run, far from real users and rootless-container ranges, so the
process limit counts this job's processes only and its files belong to nobody else."""

LOG_LIMIT = 64 * 1024
_LOG_HEAD = 16 * 1024
MAX_OUTPUT_ENTRIES = 1000
"""Files and folders the output folder may hold (an airlock reviewer reads every one)."""
MAX_OUTPUT_DEPTH = 16
MAX_SCRIPT_BYTES = 4 * 1024 * 1024
SHM_MB = 64
_POLL_SECONDS = 0.1
_MEMORY_MARKERS = ("MemoryError", "std::bad_alloc", "Out of Memory", "Cannot allocate memory")

_PYTHON_DIR = "/opt/python"
_SITE_DIR = "/opt/site-packages"
_LAUNCHER = "/opt/opdomain/launch.py"
_SCRIPT = "/job/script.py"
_NOBODY_ENTRY = "nobody:x:65534:65534:nobody:/tmp:/usr/sbin/nologin\n"
_NOGROUP_ENTRY = "nogroup:x:65534:\n"
_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

Status = Literal["succeeded", "failed", "killed_timeout", "killed_memory", "killed_cpu", "output_too_large"]


@dataclass(frozen=True)
class SandboxLimits:
    """Per-job limits; every one is enforced outside the script's reach.

    ``memory_mb`` is the address-space limit of each process; ``processes`` counts processes *and
    threads* of the job; ``output_mb`` bounds each file and the whole output folder; ``tmp_mb`` bounds
    the private ``/tmp`` (memory-backed); ``cpu_seconds`` is per process, ``wall_seconds`` for the job.
    """

    cpu_seconds: int = 60
    memory_mb: int = 2048
    processes: int = 64
    output_mb: int = 256
    wall_seconds: int = 120
    open_files: int = 256
    tmp_mb: int = 256

    def check(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InvalidInput("sandbox.bad_limit", BAD_LIMIT.format(name=name))


@dataclass(frozen=True)
class SandboxResult:
    """What a run produced. ``log`` is stdout+stderr, cut to about 64 KiB (head and tail kept)."""

    exit_code: int
    status: Status
    wall_seconds: float
    log: str
    outputs: dict[str, Path] = field(default_factory=dict)
    rejected: tuple[str, ...] = ()
    """Output entries refused and removed (symlinks, hard links, special files, odd names, too deep)."""
    cpu_seconds: float = 0.0
    """CPU time of the job's processes, sampled (root mode only; 0 otherwise)."""


# -- the interpreter made visible inside ---------------------------------------------------------
@dataclass(frozen=True)
class _Interpreter:
    base_prefix: Path  # host path, symlinks resolved
    executable: Path  # host path of the real (base) interpreter binary
    site_dirs: tuple[Path, ...]  # the venv's site-packages (host), bound read-only

    @property
    def relocated(self) -> bool:
        """A prefix outside /usr is bound at /opt/python, so no host path (e.g. /root/.pyenv) shows."""
        return not _is_within(self.base_prefix, Path("/usr"))

    @property
    def inside_executable(self) -> str:
        if not self.relocated:
            return str(self.executable)
        return f"{_PYTHON_DIR}/{self.executable.relative_to(self.base_prefix)}"


_PROBE = (
    "import json, os, site, sys;"
    "print(json.dumps({'base': os.path.realpath(sys.base_prefix),"
    " 'exe': os.path.realpath(getattr(sys, '_base_executable', None) or sys.executable),"
    " 'sites': site.getsitepackages()}))"
)


@lru_cache(maxsize=8)
def _interpreter(python: str | None) -> _Interpreter:
    """The interpreter to expose: this process's (default) or ``python``, a trusted path from settings."""
    if python is None:
        base = os.path.realpath(sys.base_prefix)
        exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
        sites = site.getsitepackages()
    else:
        found = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True)
        info = json.loads(found.stdout)
        base, exe, sites = info["base"], info["exe"], info["sites"]
    base_path, exe_path = Path(base), Path(exe)
    if not _is_within(exe_path, base_path):
        raise _unavailable(f"interpreter {exe} is outside its prefix {base}")
    dirs: list[Path] = []
    for entry in sites:
        real = Path(os.path.realpath(entry))
        if real.is_dir() and not _is_within(real, base_path) and real not in dirs:
            dirs.append(real)
    return _Interpreter(base_path, exe_path, tuple(dirs))


def _is_within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


# -- availability -------------------------------------------------------------------------------
def _tool(name: str) -> str | None:
    found = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    return os.path.realpath(found) if found else None


def _unavailable(reason: str) -> DomainError:
    return DomainError(
        "sandbox.unavailable", SANDBOX_UNAVAILABLE.format(reason=reason), status=503, details={"reason": reason}
    )


def _missing_tools() -> list[str]:
    needed = ["bwrap", "prlimit"] + (["setpriv"] if os.geteuid() == 0 else [])
    return [name for name in needed if _tool(name) is None]


@lru_cache(maxsize=1)
def _probe() -> str | None:
    """Why the sandbox cannot run here, or None when a trivial job runs through it."""
    missing = _missing_tools()
    if missing:
        return f"missing {', '.join(missing)}; run scripts/setup-system.sh"
    with tempfile.TemporaryDirectory(prefix="opdomain-sandbox-probe-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        (root / "job.py").write_text("pass\n")
        try:
            result = _run(root / "job.py", root / "in", root / "out", SandboxLimits(wall_seconds=30), {}, None)
        except (OSError, subprocess.SubprocessError, DomainError) as exc:
            return f"probe failed: {exc}"
    return None if result.exit_code == 0 else f"probe failed: {result.log.strip()[-300:]}"


def sandbox_available() -> bool:
    """True when bubblewrap and its helpers are installed and a trivial job runs through the sandbox."""
    return _probe() is None


# -- running ------------------------------------------------------------------------------------
def run_python(
    script: Path,
    *,
    inputs_dir: Path,
    output_dir: Path,
    limits: SandboxLimits = SandboxLimits(),
    env: Mapping[str, str] | None = None,
    python: str | None = None,
) -> SandboxResult:
    """Run ``script`` in the sandbox over ``inputs_dir`` (seen as ``/in``), writing to ``output_dir`` (``/out``).

    Refuses with ``sandbox.unavailable`` when the sandbox cannot run here. ``output_dir`` must be empty
    or absent. ``env`` adds variables to the job's minimal environment (nothing else is inherited).
    """
    limits.check()
    reason = _probe()
    if reason is not None:
        raise _unavailable(reason)
    return _run(Path(script), Path(inputs_dir), Path(output_dir), limits, dict(env or {}), python)


@dataclass(frozen=True)
class _Job:
    source: bytes
    inputs: Path
    outputs: Path
    limits: SandboxLimits
    env: dict[str, str]
    interpreter: _Interpreter
    privileged: bool  # we are root: outer privileged bwrap + per-job uid; else one unprivileged bwrap
    uid: int
    gid: int


def _run(
    script: Path, inputs_dir: Path, output_dir: Path, limits: SandboxLimits, env: dict[str, str], python: str | None
) -> SandboxResult:
    missing = _missing_tools()
    if missing:  # checked again per run: a bwrap removed since the probe must refuse, not fall through
        raise _unavailable(f"missing {', '.join(missing)}")
    source = _read_script(script)
    inputs = _plain_dir(inputs_dir, "inputs folder")
    outputs = _prepare_output(output_dir)
    _check_env(env)
    privileged = os.geteuid() == 0
    uid = JOB_UID_BASE + secrets.randbelow(JOB_UID_SPAN) if privileged else os.getuid()
    gid = uid if privileged else os.getgid()
    job = _Job(source, inputs, outputs, limits, env, _interpreter(python), privileged, uid, gid)
    shared = _share_inputs(inputs, gid) if privileged else []
    os.chown(outputs, uid, gid)
    os.chmod(outputs, 0o700)
    try:
        return _supervise(job)
    finally:
        for path, (old_gid, old_mode) in reversed(shared):
            os.chown(path, -1, old_gid, follow_symlinks=False)
            os.chmod(path, old_mode)


def _read_script(script: Path) -> bytes:
    try:
        info = script.stat()
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SCRIPT_BYTES:
        raise InvalidInput("sandbox.bad_path", BAD_PATH.format(what="script", path=script))
    return script.read_bytes()


def _plain_dir(path: Path, what: str) -> Path:
    if path.is_symlink() or not path.is_dir():
        raise InvalidInput("sandbox.bad_path", BAD_PATH.format(what=what, path=path))
    return path.resolve(strict=True)


def _prepare_output(path: Path) -> Path:
    if not path.exists() and not path.is_symlink():
        path.mkdir(mode=0o700, parents=True)
    real = _plain_dir(path, "output folder")
    if any(real.iterdir()):
        raise InvalidInput("sandbox.output_not_empty", OUTPUT_DIR_NOT_EMPTY.format(path=path))
    return real


def _check_env(env: Mapping[str, str]) -> None:
    for name, value in env.items():
        bad_name = not isinstance(name, str) or not name or "=" in name or "\0" in name
        if bad_name or not isinstance(value, str) or "\0" in value:
            raise InvalidInput("sandbox.bad_env", BAD_ENV.format(name=repr(name)))


def _share_inputs(root: Path, gid: int) -> list[tuple[Path, tuple[int, int]]]:
    """Let the job's group read the inputs (the caller may have left them 0600); return what to restore."""
    changed: list[tuple[Path, tuple[int, int]]] = []
    for path in [root, *_walk(root)]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        mode = stat.S_IMODE(info.st_mode)
        changed.append((path, (info.st_gid, mode)))
        os.chown(path, -1, gid, follow_symlinks=False)
        os.chmod(path, mode | (0o050 if stat.S_ISDIR(info.st_mode) else 0o040))
    return changed


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            yield Path(dirpath) / name


def _environment(job: _Job) -> dict[str, str]:
    threads = str(max(1, min(os.cpu_count() or 1, job.limits.processes // 4)))
    env = {
        "PATH": f"{Path(job.interpreter.inside_executable).parent}:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",
        "OPDOMAIN_IN": "/in",
        "OPDOMAIN_OUT": "/out",
        # threads count against the process limit; glibc arenas against the address-space limit
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }
    if job.interpreter.relocated:  # its binary's RUNPATH names the host prefix
        env["LD_LIBRARY_PATH"] = f"{_PYTHON_DIR}/lib"
    return env | job.env


def _prlimit(job: _Job) -> list[str]:
    limits, mib = job.limits, 1024 * 1024
    # RLIMIT_NPROC counts every task of the host uid: a per-job uid owns none yet; our own uid does
    nproc = limits.processes if job.privileged else limits.processes + _tasks_of(job.uid)
    return [
        _tool("prlimit") or "prlimit",
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",  # SIGXCPU, then SIGKILL a second later
        f"--as={limits.memory_mb * mib}",
        f"--nproc={nproc}",
        f"--fsize={limits.output_mb * mib}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]


def _view(job: _Job, data_fds: dict[str, int]) -> list[str]:
    """bwrap arguments for the filesystem the job sees (host paths appear only as bind sources)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _TOP_LEVEL:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    for inside_dir in ("/etc", "/job", "/opt", "/opt/opdomain", _SITE_DIR):
        args += ["--perms", "0755", "--dir", inside_dir]  # bwrap would make them 0700
    if job.interpreter.relocated:
        args += ["--ro-bind", str(job.interpreter.base_prefix), _PYTHON_DIR]
    for index, directory in enumerate(job.interpreter.site_dirs):
        args += ["--ro-bind", str(directory), f"{_SITE_DIR}/{index}"]
    for inside, fd in data_fds.items():
        args += ["--perms", "0444", "--ro-bind-data", str(fd), inside]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    args += ["--ro-bind", str(job.inputs), "/in", "--bind", str(job.outputs), "/out"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(job.limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    args += ["--perms", "1777", "--size", str(SHM_MB * 1024 * 1024), "--tmpfs", "/dev/shm"]
    return args


_CONFINE = [
    "--unshare-user", "--disable-userns", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
    "--die-with-parent", "--new-session", "--cap-drop", "ALL",
]  # fmt: skip


def _command(job: _Job, data_fds: dict[str, int], args_fd: int) -> tuple[list[str], list[str]]:
    """(argv, the arguments bwrap reads from ``args_fd``). Host paths travel only through the
    descriptor, so the job cannot read them in /proc/1/cmdline."""
    bwrap = _tool("bwrap") or "bwrap"
    sites = [arg for index in range(len(job.interpreter.site_dirs)) for arg in ("--site", f"{_SITE_DIR}/{index}")]
    python = [job.interpreter.inside_executable, "-B", _LAUNCHER, *sites, "--", _SCRIPT]
    setenv = [arg for name, value in _environment(job).items() for arg in ("--setenv", name, value)]
    if job.privileged:
        # bwrap as root resolves every bind source (e.g. under 0700 /root) but would map the job to
        # host uid 0; so it only builds the view and drops to the job uid, and an unprivileged inner
        # bwrap adds the user namespace (uid 65534 inside, no nested namespaces).
        outer = [
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "opdomain-job", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            "--clearenv", *setenv, *_view(job, data_fds),
        ]  # fmt: skip
        drop = [_tool("setpriv") or "setpriv", f"--reuid={job.uid}", f"--regid={job.gid}", "--clear-groups"]
        inner = [bwrap, *_CONFINE, "--bind", "/", "/", "--remount-ro", "/", "--chdir", "/out", "--"]
        argv = [bwrap, "--args", str(args_fd), *drop, "--no-new-privs", "--", *_prlimit(job), *inner, *python]
        return argv, outer
    single = [
        "--unshare-all", *_CONFINE, "--hostname", "opdomain-job", "--clearenv", *setenv, *_view(job, data_fds),
        "--remount-ro", "/", "--chdir", "/out",
    ]  # fmt: skip
    return [*_prlimit(job), bwrap, "--args", str(args_fd), "--", *python], single


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _supervise(job: _Job) -> SandboxResult:
    payloads = {
        _LAUNCHER: Path(__file__).with_name("sandbox_child.py").read_bytes(),
        _SCRIPT: job.source,  # a copy: the caller's file can change or vanish without touching the run
        "/etc/passwd": _NOBODY_ENTRY.encode(),
        "/etc/group": _NOGROUP_ENTRY.encode(),
    }
    data_fds = {inside: _memfd(Path(inside).name, data) for inside, data in payloads.items()}
    args_fd = _memfd("bwrap-args", b"")
    argv, fd_args = _command(job, data_fds, args_fd)
    os.write(args_fd, b"".join(arg.encode() + b"\0" for arg in fd_args))
    os.lseek(args_fd, 0, os.SEEK_SET)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=[*data_fds.values(), args_fd], start_new_session=True, env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip
    finally:
        for fd in [*data_fds.values(), args_fd]:
            os.close(fd)
    log = _LogTail(proc)
    exit_code, cpu, timed_out, too_large = _wait(proc, job, started)
    wall = time.monotonic() - started
    log.join()
    if job.privileged:
        _kill_leftovers(job.uid)
    outputs, rejected, total, entries = _collect_outputs(job.outputs)
    _reclaim(job.outputs)
    too_large = too_large or total > job.limits.output_mb * 1024 * 1024 or entries > MAX_OUTPUT_ENTRIES
    text = log.text()
    busiest = max(cpu.values(), default=0.0)  # RLIMIT_CPU is per process
    status = _classify(exit_code, busiest, text, job.limits, timed_out=timed_out, too_large=too_large)
    if rejected:
        text += f"\n[opdomain sandbox] refused output entries: {', '.join(map(repr, rejected))}\n"
        status = "failed" if status == "succeeded" else status
    cpu_total = round(sum(cpu.values()), 3)
    return SandboxResult(exit_code, status, round(wall, 3), text, outputs, tuple(rejected), cpu_total)


def _wait(proc: subprocess.Popen[bytes], job: _Job, started: float) -> tuple[int, dict[int, float], bool, bool]:
    """Wait under the wall clock and the output budget: exit code, CPU seconds by process, whether
    time ran out, whether the output grew too large. CPU is sampled from /proc because bwrap's
    monitor does not reap its pid 1, so no rusage of the job reaches us."""
    waited: dict[str, int] = {}
    waiter = threading.Thread(target=lambda: waited.setdefault("status", os.waitpid(proc.pid, 0)[1]), daemon=True)
    waiter.start()
    timed_out = too_large = False
    cpu: dict[int, float] = {}
    budget = job.limits.output_mb * 1024 * 1024
    while waiter.is_alive():
        waiter.join(_POLL_SECONDS)
        if not waiter.is_alive():
            break
        if job.privileged:
            cpu.update(_cpu_by_pid(job.uid))
        if time.monotonic() - started > job.limits.wall_seconds:
            timed_out = True
        else:
            size, entries = _usage(job.outputs)
            too_large = size > budget or entries > MAX_OUTPUT_ENTRIES
        if timed_out or too_large:
            proc.kill()  # the outer bwrap's death takes its pid namespace, and every job process, along
            waiter.join()
    proc.returncode = os.waitstatus_to_exitcode(waited["status"])
    exit_code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    return exit_code, cpu, timed_out, too_large


def _classify(
    exit_code: int, busiest_cpu: float, log: str, limits: SandboxLimits, *, timed_out: bool, too_large: bool
) -> Status:
    if timed_out:
        return "killed_timeout"
    if too_large or exit_code in (FILE_SIZE_EXIT, 128 + signal.SIGXFSZ):
        return "output_too_large"
    cpu_kill = exit_code == 128 + signal.SIGKILL and busiest_cpu >= limits.cpu_seconds - 0.5  # SIGXCPU ignored
    if exit_code == 128 + signal.SIGXCPU or cpu_kill:
        return "killed_cpu"
    if exit_code == MEMORY_EXIT or (exit_code != 0 and any(marker in log[-4096:] for marker in _MEMORY_MARKERS)):
        return "killed_memory"
    return "succeeded" if exit_code == 0 else "failed"


# -- the output folder --------------------------------------------------------------------------
def _usage(root: Path) -> tuple[int, int]:
    """Bytes and entries (files and folders) under ``root``, tolerant of a job changing it meanwhile."""
    size = entries = 0
    for dirpath, dirnames, filenames in os.walk(root):
        entries += len(dirnames) + len(filenames)
        for name in filenames:
            try:
                size += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return size, entries


def _collect_outputs(root: Path) -> tuple[dict[str, Path], list[str], int, int]:
    """Regular files of the output folder, by relative name. Symlinks, hard links, special files,
    unprintable names and over-deep folders are refused and removed, so that whoever reads the
    outputs later cannot be led outside the folder. Returns (outputs, rejected, bytes, entries)."""
    outputs: dict[str, Path] = {}
    rejected: list[str] = []
    total = entries = 0

    def visit(directory: Path, prefix: str, depth: int) -> None:
        nonlocal total, entries
        with os.scandir(directory) as found:
            for entry in sorted(found, key=lambda e: e.name):
                rel, info, path = f"{prefix}{entry.name}", entry.stat(follow_symlinks=False), Path(entry.path)
                entries += 1
                if stat.S_ISDIR(info.st_mode) and _good_name(entry.name) and depth < MAX_OUTPUT_DEPTH:
                    visit(path, f"{rel}/", depth + 1)
                elif stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and _good_name(entry.name):
                    outputs[rel] = path
                    total += info.st_size
                elif stat.S_ISDIR(info.st_mode):
                    rejected.append(rel)
                    shutil.rmtree(path)
                else:
                    rejected.append(rel)
                    path.unlink()

    visit(root, "", 0)
    return outputs, rejected, total, entries


def _good_name(name: str) -> bool:
    return name.isprintable() and not any("\udc80" <= ch <= "\udcff" for ch in name)


def _reclaim(root: Path) -> None:
    """Give the outputs back to the domain's own user with plain modes (no set-id bits, readable)."""
    uid, gid = os.geteuid(), os.getegid()
    os.chown(root, uid, gid)
    os.chmod(root, 0o700)
    for path in _walk(root):
        info = path.lstat()
        if not stat.S_ISLNK(info.st_mode):
            os.chown(path, uid, gid, follow_symlinks=False)
            os.chmod(path, 0o750 if stat.S_ISDIR(info.st_mode) else 0o640)


# -- the job's processes on the host ------------------------------------------------------------
def _pids(uid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid:
                found.append(int(name))
        except OSError:
            continue
    return found


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (state is [0], utime [11], stime [12])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _tasks_of(uid: int) -> int:
    """Threads and processes the host runs as ``uid`` (RLIMIT_NPROC counts them all)."""
    return sum(int(fields[17]) for pid in _pids(uid) if len(fields := _stat_fields(pid)) > 17)


def _cpu_by_pid(uid: int) -> dict[int, float]:
    """CPU seconds (user + system, all threads) of each live process running as ``uid``."""
    ticks = os.sysconf("SC_CLK_TCK")
    usage = {pid: _stat_fields(pid) for pid in _pids(uid)}
    return {pid: (int(f[11]) + int(f[12])) / ticks for pid, f in usage.items() if len(f) > 12}


def _kill_leftovers(uid: int, patience: float = 5.0) -> None:
    """Return only once no process runs as the job's uid, so nothing still writes to ``/out`` while it
    is checked. The pid namespace dies with the job; this closes the window while the kernel tears
    it down (bwrap's monitor exits before its pid 1 is reaped)."""
    deadline = time.monotonic() + patience
    while pids := [pid for pid in _pids(uid) if _stat_fields(pid)[:1] not in ([], ["Z"], ["X"])]:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
        if time.monotonic() > deadline:
            raise RuntimeError(f"job processes {pids} of uid {uid} survive SIGKILL")
        time.sleep(0.01)


class _LogTail:
    """Reads the job's merged stdout/stderr, keeping the first 16 KiB and the last ~48 KiB only."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._stream = cast(io.BufferedReader, proc.stdout)
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while chunk := self._stream.read1(65536):
            room = _LOG_HEAD - len(self._head)
            if room > 0:
                self._head += chunk[:room]
                chunk = chunk[room:]
            self._tail += chunk
            excess = len(self._tail) - (LOG_LIMIT - _LOG_HEAD)
            if excess > 0:
                del self._tail[:excess]
                self._dropped += excess
        self._stream.close()

    def join(self) -> None:
        self._thread.join(timeout=10)

    def text(self) -> str:
        middle = f"\n[… {self._dropped} bytes of log omitted …]\n".encode() if self._dropped else b""
        return (bytes(self._head) + middle + bytes(self._tail)).decode("utf-8", errors="replace")


# -- measuring ----------------------------------------------------------------------------------
def measure_start_overhead(n: int = 10) -> dict[str, float]:
    """Median milliseconds of an empty script through the sandbox vs. plain ``python -c pass`` (for the bench)."""
    plain: list[float] = []
    boxed: list[float] = []
    with tempfile.TemporaryDirectory(prefix="opdomain-sandbox-bench-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        script = root / "empty.py"
        script.write_text("")
        run_python(script, inputs_dir=root / "in", output_dir=root / "warm")  # warm the caches
        for i in range(n):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            plain.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            result = run_python(script, inputs_dir=root / "in", output_dir=root / f"out{i}")
            boxed.append((time.perf_counter() - began) * 1000)
            if result.status != "succeeded":
                raise RuntimeError(f"empty script failed in the sandbox: {result.log}")
    plain_ms, boxed_ms = statistics.median(plain), statistics.median(boxed)
    return {
        "runs": float(n),
        "plain_ms": round(plain_ms, 1),
        "sandbox_ms": round(boxed_ms, 1),
        "overhead_ms": round(boxed_ms - plain_ms, 1),
        "sandbox_max_ms": round(max(boxed), 1),
    }
