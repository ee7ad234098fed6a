# One entry point for every job. Each target sets up what it needs on a fresh Debian machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: venv test lint demo bench chaos clean lab-deps outside-deps stack

venv: $(STAMP)

# The venv is rebuilt whenever the pinned requirements change.
$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# The tests that need no lab on two workers (most wait on sockets and subprocesses, not the
# CPU; a file's tests stay on one worker, with its module fixtures), then the lab's, one at a
# time: there is one lab per machine.
test: lint $(STAMP) lab-deps outside-deps $(CHECKOV_STAMP)
	$(PY) -m pytest -q -m "not lab" -n 2 --dist loadfile
	$(PY) -m pytest -q -m lab

# The gate before the tests: ruff's rules and its formatting, and mypy (pyproject.toml says which).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# resource-agents (the ClusterLabs ocivip agent tests/outside runs) and jq, installed only if missing.
outside-deps:
	bash tests/outside/install-deps.sh

# checkov (tests/terraform/test_tf_lint.py runs it) in its own venv: it pins many packages.
$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

# From Debian's packages, installed only if missing: haproxy, keepalived, ip, nft and curl, and
# for the booted nodes mmdebstrap, systemd-nspawn, git and nsenter. The nodes' root filesystem,
# wheels and Debian packages are fetched once on the first lab run and cached in
# /var/cache/oci-vip-failover (docs/lab.md).
lab-deps:
	bash lab/install-deps.sh

# A real failover in the lab, narrated; exits non-zero if the IP did not fail over.
demo: $(STAMP) lab-deps
	$(PY) -m lab.demo

# Failover times per method in the lab (booted nodes, see docs/lab.md) ->
# bench/results.json and bench/failover.png.
# TRIALS=N per fault and method (default 10).
bench: $(STAMP) lab-deps
	$(PY) -m lab.bench --trials $(or $(TRIALS),10)

# The fault matrix of docs/reliability.md against the real function on the emulator, then in
# the real lab -> bench/reliability.json. CHAOS_TRIALS=N emulator trials in total (default 1000),
# CHAOS_LAB_TRIALS=N lab trials (default 100, 0 skips; skipped where namespaces cannot be
# made), CHAOS_SEED=S (default 8).
chaos: $(STAMP) lab-deps
	$(PY) -m chaos --trials $(or $(CHAOS_TRIALS),1000) --lab-trials $(or $(CHAOS_LAB_TRIALS),100) --seed $(or $(CHAOS_SEED),8)

# The Resource Manager stack: terraform/ (its working directory, with schema.yaml, the form) and
# the files it reads from beside it -> build/vip-failover-stack.zip (docs/deploy.md).
STACK_FILES := terraform/schema.yaml $(wildcard terraform/*.tf) terraform/modules templates \
	health_probe/metrics.json health_probe/vip-failover-probe.service
stack:
	mkdir -p build
	rm -f build/vip-failover-stack.zip
	$(PYTHON) -c "$$STACK_ZIP" build/vip-failover-stack.zip $(STACK_FILES)

# Each file under its repository path (python -m zipfile -c would flatten the top level).
define STACK_ZIP
import pathlib, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for arg in map(pathlib.Path, sys.argv[2:]):
        for f in [arg] if arg.is_file() else sorted(p for p in arg.rglob("*") if p.is_file() and ".terraform" not in p.parts):
            z.write(f, f.as_posix())
endef
export STACK_ZIP

clean:
	rm -rf build $(VENV) $(CHECKOV_VENV) .pytest_cache .hypothesis
