"""Run folders are safe: one fit at a time (the lock), a moved folder resumes, a corrupt checkpoint is a clear error
with the --restart hint, and a fit killed by SIGTERM resumes after its folder is moved, to the same draws."""
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from shaminfer.app._run_folder import LOCK_NAME, portable_config, run_folder_lock
from shaminfer.app.fit import CHECKPOINT_NAME, load_posterior, run_fit
from shaminfer.inference.priors import THETA_NAMES
from shaminfer.inference.sampling import SamplerSettings

ROOT = Path(__file__).resolve().parents[2]
#: Four chunks of ten draws: the cut runs stop after the first.
SETTINGS = SamplerSettings(num_chains=2, num_warmup=50, num_samples=40, chunk_size=10, seed=2, init="prior",
                           progress_bar=False)


def _config(data: Path, run_dir: Path) -> dict:
    """What run_fit_config stores: absolute paths of the data file and of the run folder itself."""
    return {"fit": {"data": str(data), "run_dir": str(run_dir), "terms": ["smf", "wp", "delta_sigma"]}}


def _finished_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def _write_lock(run_dir: Path, pid: int, host: str | None = None) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    path.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "started": "2024-01-01T00:00:00"}))
    return path


def _assert_same_draws(a, b):
    for name in THETA_NAMES:
        np.testing.assert_array_equal(np.asarray(a.posterior[name]), np.asarray(b.posterior[name]))
    np.testing.assert_array_equal(np.asarray(a.log_likelihood["obs_wp"]), np.asarray(b.log_likelihood["obs_wp"]))


@pytest.fixture(scope="module")
def full_run(standin_model, tmp_path_factory):
    """The uninterrupted run every interrupted one must reproduce."""
    run_dir = tmp_path_factory.mktemp("full") / "run"
    res = run_fit(standin_model, SETTINGS, run_dir, config=_config(run_dir / "data.npz", run_dir), log=lambda m: None)
    assert res.complete and not (run_dir / LOCK_NAME).exists()
    return res


def test_a_locked_folder_is_refused_at_once(standin_model, tmp_path):
    """Held by a running process (this one, or another host's): a ValueError naming folder, pid, host, the way out."""
    run_dir = tmp_path / "run"
    lock = _write_lock(run_dir, os.getpid())
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as info:
        run_fit(standin_model, SETTINGS, run_dir, log=lambda m: None)
    assert time.perf_counter() - t0 < 5.0
    msg = str(info.value)
    assert msg.startswith(f"{run_dir}: ") and f"locked by process {os.getpid()} on host {socket.gethostname()}" in msg
    assert "wait for that fit to finish" in msg and f"remove {lock}" in msg
    assert lock.exists() and not (run_dir / CHECKPOINT_NAME).exists()  # the owner's lock and folder are untouched
    # On another host a pid cannot be checked: refused too, whatever the pid.
    _write_lock(run_dir, _finished_pid(), host="some-other-node")
    with pytest.raises(ValueError, match="on host some-other-node"):
        run_fit(standin_model, SETTINGS, run_dir, log=lambda m: None)


def test_the_lock_is_released_on_every_exit(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with run_folder_lock(run_dir, log=print) as path:
        owner = json.loads(path.read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname() and owner["started"]
        with pytest.raises(ValueError, match=f"locked by process {os.getpid()}"):  # the same process, twice
            with run_folder_lock(run_dir, log=print):
                pass
    assert not path.exists()
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with run_folder_lock(run_dir, log=print):
                raise exc
        assert not path.exists()
    # An unreadable lock (torn by a crash while it was written) is refused while fresh, taken over when old.
    path.write_text("")
    with pytest.raises(ValueError, match="being written by another fit"):
        with run_folder_lock(run_dir, log=print):
            pass
    os.utime(path, (time.time() - 60, time.time() - 60))
    messages = []
    with run_folder_lock(run_dir, log=messages.append):
        pass
    assert "unreadable lock file" in messages[0] and not path.exists()


def test_the_fingerprint_holds_no_absolute_path(tmp_path):
    run_dir = tmp_path / "run"
    cfg = {"fit": {"data": "/data/mocks/mock.npz", "run_dir": str(run_dir), "terms": ["smf"]},
           "ckpt": str(run_dir / "sub" / "x.npz"), "rel": "runs/fit", "n": 3}
    assert portable_config(cfg, run_dir) == {"fit": {"data": "mock.npz", "run_dir": ".", "terms": ["smf"]},
                                             "ckpt": "sub/x.npz", "rel": "runs/fit", "n": 3}


def test_a_moved_run_folder_resumes(standin_model, full_run, tmp_path):
    """Cut after one chunk (over a stale lock), move the folder, resume: the same draws as the uninterrupted run."""
    data = tmp_path / "data.npz"
    run_dir = tmp_path / "laptop" / "run"
    _write_lock(run_dir, _finished_pid())
    messages = []
    first = run_fit(standin_model, SETTINGS, run_dir, config=_config(data, run_dir), max_chunks=1,
                    log=messages.append)
    assert not first.complete and "which is no longer running" in messages[0]
    assert not (run_dir / LOCK_NAME).exists()
    moved = tmp_path / "cluster" / "scratch" / "run_copy"
    moved.parent.mkdir(parents=True)
    shutil.move(str(run_dir), str(moved))
    messages.clear()
    # The data file moved too, under another absolute path: only its content enters the fingerprint.
    res = run_fit(standin_model, SETTINGS, moved, config=_config(moved.parent / "data.npz", moved),
                  log=messages.append)
    assert res.complete and any("resuming numpyro run at 10/40" in m for m in messages), messages
    assert not any("starting over" in m for m in messages)
    _assert_same_draws(res.idata, full_run.idata)
    assert json.loads(res.idata.attrs["config_json"])["fit"]["run_dir"] == str(moved)  # the attrs keep the paths


def _corrupt(kind: str, good: bytes) -> bytes:
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "bit-flipped":
        bad = bytearray(good)
        bad[len(bad) // 2] ^= 0x10
        return bytes(bad)
    if kind == "empty":
        return b""
    return b"checkpoint of the run, see README\n"  # a text file


@pytest.mark.parametrize("kind", ["truncated", "bit-flipped", "empty", "not an npz"])
def test_a_corrupt_checkpoint_is_reported_with_the_restart_hint(standin_model, full_run, tmp_path, kind):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    ckpt = run_dir / CHECKPOINT_NAME
    ckpt.write_bytes(_corrupt(kind, (full_run.run_dir / CHECKPOINT_NAME).read_bytes()))
    with pytest.raises(ValueError) as info:
        run_fit(standin_model, SETTINGS, run_dir, log=lambda m: None)
    msg = str(info.value)
    assert msg.startswith(f"{ckpt}: unreadable checkpoint (") and msg.endswith("rerun with --restart (restart=True)")
    assert "\n" not in msg and ckpt.exists() and not (run_dir / LOCK_NAME).exists()
    if kind == "truncated":  # restart=True starts over (one chunk is enough to show it)
        res = run_fit(standin_model, SETTINGS, run_dir, restart=True, max_chunks=1, log=lambda m: None)
        assert res.idata.posterior.sizes["draw"] == SETTINGS.chunk_size
        assert load_posterior(run_dir).attrs["draws_done"] == SETTINGS.chunk_size


# The stand-in model of tests/conftest.py (standin_model), built in a fresh interpreter. Each saved chunk is
# followed by a long pause, so the SIGTERM arrives between chunks, as it would in any long fit.
_SCRIPT = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from shaminfer import configure_jax
    configure_jax()
    from shaminfer.app.fit import run_fit
    from shaminfer.inference.model import build_model
    from shaminfer.inference.priors import domain_prior
    from shaminfer.inference.sampling import SamplerSettings
    from shaminfer.inference.terms import DeltaSigmaTerm, SMFTerm, WpTerm
    from tests.inference.standin import DOMAIN, THETA_TRUE, covariances, forward

    pred = forward(THETA_TRUE)
    cs, cw, cd = covariances(pred)
    terms = [SMFTerm(pred.smf, cs), WpTerm(pred.wp, cw, samples=[0, 1, 2]),
             DeltaSigmaTerm(pred.delta_sigma, cd, samples=[0, 1, 2])]
    model = build_model(forward, terms, domain_prior(domain=DOMAIN), domain=DOMAIN)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)
        if "draws per chain saved" in msg:
            time.sleep(120)

    settings = SamplerSettings(**json.loads(sys.argv[3]))
    run_fit(model, settings, sys.argv[2], config=json.loads(sys.argv[4]), log=log)
""")


def _lines(stream, out: queue.Queue):
    for line in stream:
        out.put(line)
    out.put(None)


def test_a_fit_killed_by_sigterm_resumes_after_its_folder_is_moved(standin_model, full_run, tmp_path):
    run_dir = tmp_path / "node1" / "run"
    script = tmp_path / "fit.py"
    script.write_text(_SCRIPT)
    env = dict(os.environ, JAX_ENABLE_X64="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    cfg = _config(tmp_path / "data.npz", run_dir)
    proc = subprocess.Popen([sys.executable, str(script), str(ROOT), str(run_dir), json.dumps(SETTINGS._asdict()),
                             json.dumps(cfg)], stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True).start()
    seen, deadline = [], time.monotonic() + 180
    try:
        while not any("draws per chain saved" in s for s in seen):
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert line is not None, f"the fit exited early (status {proc.wait()}):\n{''.join(seen)}"
            seen.append(line)
        assert (run_dir / LOCK_NAME).exists()
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while (line := lines.get(timeout=10)) is not None:
        seen.append(line)
    assert status == 128 + signal.SIGTERM, "".join(seen)  # a clean exit through the handler, not a kill
    assert any("terminated (SIGTERM)" in s for s in seen), "".join(seen)
    assert not (run_dir / LOCK_NAME).exists()
    assert load_posterior(run_dir).attrs["draws_done"] == SETTINGS.chunk_size
    moved = tmp_path / "node2" / "run_moved"
    shutil.move(str(run_dir.parent), str(moved.parent))
    shutil.move(str(moved.parent / "run"), str(moved))
    messages = []
    res = run_fit(standin_model, SETTINGS, moved, config=_config(tmp_path / "data.npz", moved), log=messages.append)
    assert res.complete and any("resuming numpyro run at 10/40" in m for m in messages), messages
    _assert_same_draws(res.idata, full_run.idata)
