# Set-up and the two commands of the README. Every target is idempotent: stamps in the
# venv record what is installed, and pyproject.toml changes trigger a reinstall.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build that lies on this machine; a looser pin makes pip fetch a multi-GB CUDA build.
TORCH ?= torch==2.13.0
A11Y := tests/a11y
PLANTED_BUG_TESTS := tests/test_mutations_*.py tests/test_exp_*.py

.PHONY: handout site test lint bench planted-bugs clean setup setup-dev

handout: setup  ## set everything up and build output/topic4/handout.{html,pdf}
	$(BIN)/topicgen build handout

site: setup  ## set everything up and build the docs site in output/site
	$(BIN)/topicgen build site

test: setup-dev  ## set up the dev extras and run lint + the whole test suite
	$(BIN)/ruff check src tests benchmarks content
	$(BIN)/pytest -q

# Collecting the tests is enough: a planted-bug test passes only if its bug is caught.
planted-bugs: setup-dev  ## rewrite content/<topic>/planted-bugs.json after changing the tests
	$(BIN)/pytest --collect-only -q --write-planted-bugs content $(PLANTED_BUG_TESTS)

bench: setup-dev  ## print the performance figures quoted in the README
	$(BIN)/python benchmarks/bench_build.py

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

$(VENV)/.system: scripts/install-system-packages.sh
	@mkdir -p $(VENV)
	./scripts/install-system-packages.sh
	@touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(VENV)/.system | $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e .
	@touch $@

# The browser tests drive Debian's chromium through playwright: no browser download.
$(VENV)/.system-browser: scripts/install-system-packages.sh
	@mkdir -p $(VENV)
	WITH_BROWSER=1 ./scripts/install-system-packages.sh
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed $(VENV)/.system-browser $(VENV)/.a11y-tools
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# The accessibility checkers, pinned by the lockfile: axe-core runs inside the browser tests'
# pages, the Nu HTML checker (vnu.jar) on the written files. --ignore-scripts: vnu-jar's
# install script would download a Java runtime; the system packages provide Debian's.
$(VENV)/.a11y-tools: $(A11Y)/package-lock.json $(VENV)/.system-browser
	cd $(A11Y) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf output/topic4 output/site .topicgen .pytest_cache
