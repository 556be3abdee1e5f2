"""The job sandbox, attacked like a hostile analyst would (rules R4.4a, R4.4c, R5.1a).

Every test runs a real script through bubblewrap; none is skipped: scripts/setup-system.sh installs
bwrap, and a machine without it fails here rather than passing quietly. Scripts report what they saw
as one JSON line on stdout, and the assertions live on the host side.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opdomain.compute import sandbox
from opdomain.compute.sandbox import SandboxLimits, SandboxResult, run_python, sandbox_available
from opdomain.errors import DomainError

PROJECT_DIR = Path(__file__).resolve().parents[2]
FAST = SandboxLimits(cpu_seconds=10, memory_mb=1024, processes=32, output_mb=8, wall_seconds=30)


@pytest.fixture(scope="module", autouse=True)
def _bwrap_installed() -> None:
    assert sandbox_available(), f"job sandbox unavailable: {sandbox._probe()} (run scripts/setup-system.sh)"


@pytest.fixture
def job(tmp_path: Path):
    """Run a script over a fresh inputs folder; returns (result, parsed JSON report or None)."""
    inputs = tmp_path / "grant-a" / "in"
    inputs.mkdir(parents=True)

    def run(code: str, limits: SandboxLimits = FAST, **kwargs) -> tuple[SandboxResult, dict | None]:
        script = tmp_path / "script.py"
        script.write_text(code)
        out = tmp_path / f"out-{time.monotonic_ns()}"
        result = run_python(script, inputs_dir=inputs, output_dir=out, limits=limits, **kwargs)
        reports = [line for line in result.log.splitlines() if line.startswith("{")]
        return result, (json.loads(reports[-1]) if reports else None)

    run.inputs = inputs  # type: ignore[attr-defined]
    run.root = tmp_path  # type: ignore[attr-defined]
    return run


def _job_processes() -> list[int]:
    """Host processes running as a job uid (there must be none once a run returns)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                uid = os.stat(f"/proc/{name}").st_uid
            except OSError:
                continue
            if sandbox.JOB_UID_BASE <= uid < sandbox.JOB_UID_BASE + sandbox.JOB_UID_SPAN:
                found.append(int(name))
    return found


# -- a legitimate job -----------------------------------------------------------------------------
def test_legitimate_script_reads_parquet_with_duckdb_and_writes_csv(job) -> None:
    table = pa.table({"region": ["a", "a", "b"], "amount": [10, 20, 5]})
    pq.write_table(table, job.inputs / "x.parquet")
    os.chmod(job.inputs / "x.parquet", 0o600)  # as the caller might leave it
    code = """
import os, duckdb, numpy, pyarrow.parquet as pq
assert os.environ["OPDOMAIN_IN"] == "/in" and os.environ["OPDOMAIN_OUT"] == "/out"
rows = pq.read_table("/in/x.parquet").num_rows
con = duckdb.connect()
con.execute("COPY (SELECT region, sum(amount) AS total FROM '/in/x.parquet' GROUP BY region ORDER BY region) "
            "TO '/out/result.csv' (HEADER)")
print(rows, float(numpy.mean([1, 2, 3])))
"""
    result, _ = job(code)
    assert result.status == "succeeded", result.log
    assert result.exit_code == 0
    assert set(result.outputs) == {"result.csv"}
    assert result.outputs["result.csv"].read_text().splitlines() == ["region,total", "a,30", "b,5"]
    assert "3 2.0" in result.log
    produced = result.outputs["result.csv"].stat()
    assert (produced.st_uid, produced.st_gid) == (os.geteuid(), os.getegid())
    assert stat.S_IMODE(produced.st_mode) == 0o640
    # the inputs are handed back as they were
    assert stat.S_IMODE((job.inputs / "x.parquet").stat().st_mode) == 0o600
    assert (job.inputs / "x.parquet").stat().st_gid == os.getegid()


def test_outputs_in_subfolders_are_listed_by_relative_name(job) -> None:
    code = "import os; os.makedirs('/out/tables/q1'); open('/out/tables/q1/a.csv', 'w').write('x')"
    result, _ = job(code)
    assert result.status == "succeeded", result.log
    assert list(result.outputs) == ["tables/q1/a.csv"]


def test_relative_paths_land_in_the_output_folder(job) -> None:
    result, _ = job("open('relative.txt', 'w').write('x')")
    assert result.status == "succeeded", result.log
    assert list(result.outputs) == ["relative.txt"]


# -- network --------------------------------------------------------------------------------------
def test_no_network_neither_host_loopback_nor_outside(job) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    socket.create_connection(("127.0.0.1", port), timeout=2).close()  # the host can reach it
    code = f"""
import json, socket
seen = {{}}
for host, port in [("127.0.0.1", {port}), ("127.0.0.1", 5432), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
    try:
        socket.create_connection((host, port), timeout=2).close()
        seen[f"{{host}}:{{port}}"] = "connected"
    except OSError as exc:
        seen[f"{{host}}:{{port}}"] = type(exc).__name__
try:
    socket.getaddrinfo("example.com", 443)
    seen["dns"] = "resolved"
except OSError as exc:
    seen["dns"] = type(exc).__name__
seen["interfaces"] = [name for _, name in socket.if_nameindex()]
print(json.dumps(seen))
"""
    try:
        result, seen = job(code)
    finally:
        listener.close()
    assert result.status == "succeeded", result.log
    assert seen is not None
    assert "connected" not in seen.values(), seen
    assert seen["dns"] != "resolved"
    assert seen["interfaces"] == ["lo"]


# -- filesystem -----------------------------------------------------------------------------------
def test_private_view_hides_host_data_keys_project_and_other_grants(job) -> None:
    other = job.root / "grant-b" / "in"
    other.mkdir(parents=True)
    (other / "secret.parquet").write_text("other grant's data")
    (job.inputs / "mine.parquet").write_text("granted")
    host_paths = [
        "/etc/shadow", "/root", "/home", "/work", str(PROJECT_DIR), str(Path.home()), str(other),
        str(job.root), "/var", "/run", "/srv", "/sys", "/etc/hostname", "/etc/ssl", "/boot",
    ]  # fmt: skip
    code = f"""
import json, os
seen = {{"exists": {{p: os.path.lexists(p) for p in {host_paths!r}}}}}
seen["top"] = sorted(os.listdir("/"))
seen["up_from_in"] = sorted(os.listdir("/in/../"))
seen["in"] = sorted(os.listdir("/in"))
seen["etc"] = sorted(os.listdir("/etc"))
seen["passwd"] = open("/etc/passwd").read()
writes = {{}}
for target in ["/in/x", "/x", "/usr/x", "/etc/x", "/job/x", "/opt/x", "/opt/python/x", "/proc/x", "/dev/x",
               "/in/../escape", "/job/script.py", "/tmp/ok", "/out/ok", "/dev/shm/ok"]:
    try:
        with open(target, "a") as handle:
            handle.write("x")
        writes[target] = "written"
    except OSError as exc:
        writes[target] = type(exc).__name__
seen["writes"] = writes
print(json.dumps(seen))
"""
    result, seen = job(code)
    assert result.status == "succeeded", result.log
    assert seen is not None
    assert not any(seen["exists"].values()), seen["exists"]
    assert seen["top"] == ["bin", "dev", "etc", "in", "job", "lib", "lib64", "opt", "out", "proc", "sbin", "tmp", "usr"]
    assert seen["up_from_in"] == seen["top"]
    assert seen["in"] == ["mine.parquet"]
    assert seen["etc"] == ["group", "ld.so.cache", "passwd"]
    assert "root" not in seen["passwd"]
    written = {target for target, outcome in seen["writes"].items() if outcome == "written"}
    assert written == {"/tmp/ok", "/out/ok", "/dev/shm/ok"}, seen["writes"]
    assert (job.inputs / "mine.parquet").read_text() == "granted"
    assert not (job.root / "grant-a" / "escape").exists()


def test_interpreter_and_packages_are_read_only(job) -> None:
    code = """
import json, os, duckdb
seen = {}
for target in [duckdb.__file__, os.__file__]:
    try:
        open(target, "a").close()
        seen[target] = "written"
    except OSError as exc:
        seen[target] = type(exc).__name__
print(json.dumps(seen))
"""
    result, seen = job(code)
    assert result.status == "succeeded", result.log
    assert seen and "written" not in seen.values(), seen


@pytest.mark.parametrize(
    ("plant", "name"),
    [
        ("os.symlink('/etc/passwd', '/out/evil')", "evil"),
        ("os.symlink('../../..', '/out/up')", "up"),
        ("open('/out/a', 'w').write('x'); os.link('/out/a', '/out/b')", "a"),
        ("os.mkfifo('/out/pipe')", "pipe"),
        ("open('/out/bad\\nname.csv', 'w').write('x')", "bad\nname.csv"),
    ],
)
def test_unsafe_entries_in_the_output_folder_are_refused_and_removed(job, plant: str, name: str) -> None:
    result, _ = job(f"import os\nopen('/out/fine.csv', 'w').write('ok')\n{plant}\n")
    assert result.status == "failed", result.log
    assert name in result.rejected
    assert name not in result.outputs
    assert "fine.csv" in result.outputs
    out = result.outputs["fine.csv"].parent
    assert not os.path.lexists(out / name)
    assert "refused output entries" in result.log


# -- resources ------------------------------------------------------------------------------------
def test_fork_bomb_is_bounded_by_the_process_limit(job) -> None:
    code = """
import json, os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError as exc:
    print(json.dumps({"children": children, "error": type(exc).__name__}))
    raise SystemExit(3)
"""
    started = time.monotonic()
    result, seen = job(code, SandboxLimits(processes=16, wall_seconds=20, cpu_seconds=10))
    assert time.monotonic() - started < 10
    assert result.status == "failed", result.log
    assert seen is not None and seen["error"] == "BlockingIOError"
    assert 0 < seen["children"] < 16
    assert _job_processes() == []


def test_relentless_fork_bomb_ends_at_the_wall_clock_and_leaves_nothing(job) -> None:
    code = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    started = time.monotonic()
    result, _ = job(code, SandboxLimits(processes=24, wall_seconds=3, cpu_seconds=10))
    assert time.monotonic() - started < 10
    assert result.status in ("killed_timeout", "killed_cpu"), result.log
    assert _job_processes() == []


def test_memory_blow_up_is_killed_not_the_host(job) -> None:
    result, _ = job("x = bytearray(10 * 1024**3)", SandboxLimits(memory_mb=512))
    assert result.status == "killed_memory", result.log
    assert "MemoryError" in result.log


def test_growing_memory_is_stopped_at_the_limit(job) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024**2))\n"
    result, _ = job(code, SandboxLimits(memory_mb=512))
    assert result.status == "killed_memory", result.log


def test_numpy_allocation_beyond_the_limit_is_a_memory_kill(job) -> None:
    result, _ = job("import numpy\nnumpy.ones((1024, 1024, 1024))", SandboxLimits(memory_mb=1024))
    assert result.status == "killed_memory", result.log


def test_cpu_spin_is_killed_at_the_cpu_limit(job) -> None:
    result, _ = job("while True:\n    pass\n", SandboxLimits(cpu_seconds=1, wall_seconds=30))
    assert result.status == "killed_cpu", result.log
    assert result.wall_seconds < 10


def test_cpu_spin_that_ignores_sigxcpu_is_still_killed_as_cpu(job) -> None:
    code = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n"
    result, _ = job(code, SandboxLimits(cpu_seconds=1, wall_seconds=30))
    assert result.status == "killed_cpu", result.log
    assert result.wall_seconds < 10


def test_sleeping_past_the_wall_clock_is_killed(job) -> None:
    started = time.monotonic()
    result, _ = job("import time\ntime.sleep(60)\n", SandboxLimits(wall_seconds=2))
    assert result.status == "killed_timeout"
    assert 2 <= result.wall_seconds < 6
    assert time.monotonic() - started < 8
    assert _job_processes() == []


def test_a_detached_background_process_does_not_outlive_the_job(job) -> None:
    code = "import subprocess\nsubprocess.Popen(['sleep', '313'], start_new_session=True)\nprint('left')\n"
    result, _ = job(code)
    assert result.status == "succeeded", result.log
    assert _job_processes() == []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            assert cmdline != b"sleep\x00313\x00"


def test_one_file_beyond_the_output_limit_is_refused(job) -> None:
    code = "open('/out/big.bin', 'wb').write(b'x' * (3 * 1024**2))"
    result, _ = job(code, SandboxLimits(output_mb=1))
    assert result.status == "output_too_large", result.log


def test_many_files_under_the_per_file_limit_still_exceed_the_output_budget(job) -> None:
    code = "for i in range(4):\n    open(f'/out/part{i}.bin', 'wb').write(b'x' * (700 * 1024))\n"
    result, _ = job(code, SandboxLimits(output_mb=1))
    assert result.status == "output_too_large", result.log


@pytest.mark.parametrize("make", ["open(f'/out/f{i}', 'w').close()", "os.mkdir(f'/out/d{i}')"])
def test_too_many_output_entries_are_refused(job, make: str) -> None:
    code = f"import os\nfor i in range({sandbox.MAX_OUTPUT_ENTRIES + 5}):\n    {make}\n"
    result, _ = job(code)
    assert result.status == "output_too_large", result.log


def test_over_deep_output_folders_are_refused(job) -> None:
    code = f"import os\nos.makedirs('/out/' + '/'.join(['d'] * {sandbox.MAX_OUTPUT_DEPTH + 2}))\n"
    result, _ = job(code)
    assert result.status == "failed", result.log
    assert result.rejected and result.rejected[0].count("/") == sandbox.MAX_OUTPUT_DEPTH


def test_private_tmp_is_bounded(job) -> None:
    code = """
import json
try:
    with open("/tmp/fill", "wb") as handle:
        for _ in range(64):
            handle.write(b"x" * 1024**2)
    print(json.dumps({"filled": True}))
except OSError as exc:
    print(json.dumps({"filled": False, "errno": exc.errno}))
"""
    result, seen = job(code, SandboxLimits(tmp_mb=8, output_mb=128))
    assert result.status == "succeeded", result.log
    assert seen == {"filled": False, "errno": 28}  # ENOSPC


def test_log_is_cut_to_head_and_tail(job) -> None:
    code = "print('FIRST')\nfor i in range(200000):\n    print('line', i)\nprint('LAST')\n"
    result, _ = job(code)
    assert result.status == "succeeded"
    assert len(result.log.encode()) < sandbox.LOG_LIMIT + 200
    assert result.log.startswith("FIRST") and result.log.rstrip().endswith("LAST")
    assert "omitted" in result.log


# -- identity, privileges, environment ------------------------------------------------------------
def test_runs_as_nobody_without_capabilities_or_new_namespaces(job) -> None:
    code = """
import ctypes, json, os, signal
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
libc = ctypes.CDLL(None, use_errno=True)
seen = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
        "caps": {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
        "no_new_privs": status["NoNewPrivs"].strip(),
        "unshare_user": libc.unshare(0x10000000), "unshare_net": libc.unshare(0x40000000),
        "mount": libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)}
for name, call in [("setuid0", lambda: os.setuid(0)), ("kill_init", lambda: os.kill(1, signal.SIGKILL)),
                   ("chroot", lambda: os.chroot("/tmp"))]:
    try:
        call()
        seen[name] = "allowed"
    except OSError as exc:
        seen[name] = type(exc).__name__
print(json.dumps(seen))
"""
    result, seen = job(code)
    assert result.status == "succeeded", result.log
    assert seen is not None
    assert (seen["uid"], seen["euid"], seen["gid"]) == (65534, 65534, 65534)
    assert seen["groups"] in ([], [65534])
    assert set(seen["caps"].values()) == {"0000000000000000"}
    assert seen["no_new_privs"] == "1"
    assert seen["unshare_user"] == -1 and seen["unshare_net"] == -1 and seen["mount"] == -1
    assert seen["kill_init"] == seen["chroot"] == "PermissionError"
    assert seen["setuid0"] in ("PermissionError", "OSError")  # EINVAL: uid 0 does not even exist inside


def test_host_sees_the_job_as_an_unprivileged_uid(job) -> None:
    seen: dict[str, tuple[int, str]] = {}

    def watch() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not seen:
            for name in os.listdir("/proc"):
                try:
                    argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
                    # the job's interpreter, not the root-owned outer bwrap that set it up
                    if b"/job/script.py" in argv and not argv[0].endswith(b"bwrap"):
                        status = Path(f"/proc/{name}/status").read_text()
                        fields = dict(line.split(":", 1) for line in status.splitlines())
                        seen[name] = (int(fields["Uid"].split()[0]), fields["CapEff"].strip())
                except (OSError, ValueError):
                    continue
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    result, _ = job("import time\ntime.sleep(2)\n")
    watcher.join()
    assert result.status == "succeeded", result.log
    assert seen, "the job's process was not found on the host"
    for uid, caps in seen.values():
        assert uid != 0 and sandbox.JOB_UID_BASE <= uid < sandbox.JOB_UID_BASE + sandbox.JOB_UID_SPAN
        assert caps == "0000000000000000"


def test_cannot_trace_or_inspect_the_processes_that_set_it_up(job) -> None:
    code = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
seen = {}
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()):
    outcome = {}
    for part in ("environ", "maps", "mem"):
        try:
            open(f"/proc/{pid}/{part}", "rb").read(1)
            outcome[part] = "read"
        except OSError as exc:
            outcome[part] = type(exc).__name__
    outcome["ptrace_attach"] = libc.ptrace(16, pid, None, None)
    seen[pid] = outcome
print(json.dumps(seen))
"""
    result, seen = job(code)
    assert result.status == "succeeded", result.log
    assert seen, "the supervisors (bwrap) should be visible as processes"
    for outcome in seen.values():
        assert "read" not in outcome.values() and outcome["ptrace_attach"] == -1, seen


def test_environment_is_cleared_but_for_the_whitelist(job, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPDOMAIN_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("OPDOMAIN_DATABASE_URL", "postgresql://secret")
    result, seen = job("import json, os\nprint(json.dumps(dict(os.environ)))\n", env={"JOB_PARAM": "42"})
    assert result.status == "succeeded", result.log
    assert seen is not None
    assert "do-not-leak" not in result.log and "postgresql://" not in result.log
    assert seen["JOB_PARAM"] == "42"
    assert {k for k in seen if k.startswith("OPDOMAIN_")} == {"OPDOMAIN_IN", "OPDOMAIN_OUT"}
    allowed = {
        "PATH", "HOME", "TMPDIR", "LANG", "PWD", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "PYTHONUNBUFFERED",
        "OPDOMAIN_IN", "OPDOMAIN_OUT", "MALLOC_ARENA_MAX", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS", "LD_LIBRARY_PATH", "JOB_PARAM",
    }  # fmt: skip
    assert set(seen) <= allowed, set(seen) - allowed


def test_host_paths_do_not_show_in_process_command_lines(job) -> None:
    code = """
import json, os
lines = [open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace") for p in os.listdir("/proc") if p.isdigit()]
print(json.dumps({"cmdlines": lines}))
"""
    result, seen = job(code)
    assert result.status == "succeeded", result.log
    assert seen is not None
    joined = "\n".join(seen["cmdlines"])
    assert str(job.root) not in joined and "/root" not in joined and str(PROJECT_DIR) not in joined


def test_concurrent_jobs_do_not_see_each_other(tmp_path: Path) -> None:
    code = """
import json, os, time
open("/out/mine.csv", "w").write("x")
time.sleep(1.5)
print(json.dumps({"out": sorted(os.listdir("/out")), "pids": len([p for p in os.listdir("/proc") if p.isdigit()])}))
"""
    results: dict[str, SandboxResult] = {}

    def run(name: str) -> None:
        inputs = tmp_path / name / "in"
        inputs.mkdir(parents=True)
        (tmp_path / f"{name}.py").write_text(code)
        results[name] = run_python(tmp_path / f"{name}.py", inputs_dir=inputs, output_dir=tmp_path / name / "out")

    threads = [threading.Thread(target=run, args=(name,)) for name in ("grant-a", "grant-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results.values():
        assert result.status == "succeeded", result.log
        seen = json.loads(result.log.strip().splitlines()[-1])
        assert seen == {"out": ["mine.csv"], "pids": 3}  # two bwrap supervisors and itself


# -- refusals -------------------------------------------------------------------------------------
def test_refuses_without_bubblewrap_and_never_runs_unsandboxed(job, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = job.root / "ran-unsandboxed"
    script = job.root / "escape.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    real_tool = sandbox._tool
    monkeypatch.setattr(sandbox, "_tool", lambda name: None if name == "bwrap" else real_tool(name))
    sandbox._probe.cache_clear()
    try:
        assert not sandbox_available()
        with pytest.raises(DomainError) as refused:
            run_python(script, inputs_dir=job.inputs, output_dir=job.root / "out")
    finally:
        sandbox._probe.cache_clear()
    assert refused.value.code == "sandbox.unavailable"
    assert refused.value.message.zh and refused.value.message.en
    assert "bwrap" in refused.value.message.en
    assert not marker.exists()


def test_output_folder_must_be_empty(job) -> None:
    out = job.root / "used"
    out.mkdir()
    (out / "stale.csv").write_text("x")
    script = job.root / "s.py"
    script.write_text("pass\n")
    with pytest.raises(DomainError) as refused:
        run_python(script, inputs_dir=job.inputs, output_dir=out)
    assert refused.value.code == "sandbox.output_not_empty"


@pytest.mark.parametrize("limits", [SandboxLimits(memory_mb=0), SandboxLimits(processes=-1)])
def test_limits_must_be_positive(job, limits: SandboxLimits) -> None:
    script = job.root / "s.py"
    script.write_text("pass\n")
    with pytest.raises(DomainError) as refused:
        run_python(script, inputs_dir=job.inputs, output_dir=job.root / "out", limits=limits)
    assert refused.value.code == "sandbox.bad_limit"


def test_start_overhead_is_measured() -> None:
    measured = sandbox.measure_start_overhead(n=2)
    assert measured["runs"] == 2
    assert measured["sandbox_ms"] > 0 and measured["plain_ms"] > 0
    assert measured["overhead_ms"] == pytest.approx(measured["sandbox_ms"] - measured["plain_ms"], abs=0.2)
