"""A process pool run by an ordinary user, GIL sampling on: py-spy (started by
execscope, as that user) reaches the pool's worker processes, not only the
runner.  This machine has no Yama LSM, so the runner's PR_SET_PTRACER, which
lets the sampler in under ``kernel.yama.ptrace_scope=1``, is not what admits
it here; what is checked is that a non-root run samples its workers at all."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from test_gil_calibration import _run_as_nobody, as_root_with_setpriv, needs_pyspy


@needs_pyspy
@as_root_with_setpriv
def test_an_ordinary_user_samples_the_workers_of_its_process_pool() -> None:
    tmp = tempfile.mkdtemp(prefix="execscope-nobody-")
    try:
        os.chmod(tmp, 0o777)
        out = _run_as_nobody(tmp, ["run", "cpu", "--executor", "process", "--start-method", "spawn",
                                   "--workers", "2", "--duration", "5", "--headless",
                                   "--json", os.path.join(tmp, "run.json")])
        assert out.returncode == 0, out.stdout + out.stderr
        with open(os.path.join(tmp, "run.json")) as fh:
            doc = json.load(fh)
        assert doc["gil"]["source"] == "py-spy", doc["gil"]["reason"]
        worker_pids = {w["pid"] for w in doc["workers"]}
        assert len(worker_pids) == 2
        sampled = [w for w in doc["workers"] if w.get("gil_held") is not None]
        assert sampled, "no worker process was sampled: %s" % doc["workers"]
        # a worker computing pure Python holds its own GIL nearly all the time and
        # never waits for it; a worker the sampler reached only as the run wound
        # down was sampled idle (held and wait 0), which is true, not a failure
        assert any(w["gil_held"] >= 0.5 for w in sampled), sampled
        assert all(w["gil_wait"] <= 0.2 for w in sampled), sampled
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
